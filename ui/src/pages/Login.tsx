import { useState } from "react";
import { postJson } from "../api";

export function Login() {
  const [token, setToken] = useState("");
  const [error, setError] = useState("");
  return (
    <form
      className="login"
      onSubmit={async (e) => {
        e.preventDefault();
        try {
          await postJson("/api/login", { token });
          window.location.reload();
        } catch (err) {
          setError(String((err as Error).message));
        }
      }}
    >
      <h1>Sign in with your Kubernetes token</h1>
      <p>
        The UI passes your token to the Kubernetes API server on every request and keeps none of its own: you see what
        your RBAC allows. Get one with <code>kubectl create token &lt;serviceaccount&gt;</code>.
      </p>
      <textarea value={token} onChange={(e) => setToken(e.target.value)} rows={4} placeholder="bearer token" />
      <button type="submit">Sign in</button>
      {error && <p className="error">{error}</p>}
    </form>
  );
}
