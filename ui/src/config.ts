// What the UI server says about itself (GET /api/config).

export interface UiConfig {
  mode: string;
  namespace: string;
  readOnly: boolean;
  signedIn: boolean;
}
