#!/usr/bin/env bash
# `make demo`: the main job end to end. Brings up the local cluster (unless
# KUBECONFIG points at another one), builds and imports the Kubeline image,
# installs the chart (the operator runs in-cluster as a Pod), runs the seed's
# iris pipeline, prints its lineage, and runs it again to show every step cached.
set -euo pipefail
cd "$(dirname "$0")/.."

bold() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
NS=kubeline-system
t0=$(date +%s)

DEV_KUBECONFIG="${KUBELINE_DEV_HOME:-$HOME/.cache/kubeline/dev}/kubeconfig"
if [ -n "${KUBECONFIG:-}" ] && [ "$KUBECONFIG" != "$DEV_KUBECONFIG" ]; then
  bold "1/6 using the cluster in KUBECONFIG=$KUBECONFIG"
  kubectl version >/dev/null || { echo "the cluster in KUBECONFIG does not answer" >&2; exit 1; }
  IMAGE_TAG="${KUBELINE_IMAGE_TAG:-0.1.0}"
  bold "2/6 image: using localhost/kubeline:$IMAGE_TAG (build it with the Dockerfile and load it into your nodes)"
  if [ -z "${KUBELINE_S3_ENDPOINT:-}" ]; then
    echo "no KUBELINE_S3_ENDPOINT: the chart runs its embedded S3 store (for evaluation; docs/install.md);"
    echo "it needs localhost/kubeline/store:$IMAGE_TAG (images/store/Dockerfile) and a default StorageClass"
    unset KUBELINE_S3_BUCKET KUBELINE_S3_REGION AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY
  fi
else
  bold "1/6 local cluster (kubeline dev up)"
  kubeline dev up --no-image
  eval "$(kubeline dev env)"
  DEV_S3=1
  bold "2/6 Kubeline image (rebuilt only when its inputs change)"
  kubeline dev image
  IMAGE_TAG=0.1.0
fi

bold "3/6 CRDs and the Helm chart (operator in $NS)"
kubectl apply --server-side --force-conflicts -f crds/ >/dev/null
kubectl wait --for=condition=Established --timeout=60s -f crds/ >/dev/null
S3_ARGS=()
if [ -n "${KUBELINE_S3_ENDPOINT:-}" ]; then
  S3_ARGS=(--set s3.endpoint="$KUBELINE_S3_ENDPOINT"
           --set s3.accessKeyId="$AWS_ACCESS_KEY_ID" --set s3.secretAccessKey="$AWS_SECRET_ACCESS_KEY")
  if [ -n "${DEV_S3:-}" ]; then
    # The local S3 server has accounts: namespace default gets an identity and a bucket of
    # its own (docs/security.md); the operator and this shell keep the root keys.
    export KUBELINE_S3_BUCKET='kubeline-{namespace}'
    kubeline dev namespace-s3 default
    S3_ARGS+=(--set-string s3.bucket="$KUBELINE_S3_BUCKET")
  else
    # Your S3 key for every step namespace: no isolation (docs/install.md, S3 identities).
    S3_ARGS+=(--set-string s3.bucket="$KUBELINE_S3_BUCKET" --set s3.stepCredentials=shared)
  fi
fi
helm upgrade --install kubeline charts/kubeline -n "$NS" --create-namespace \
  --set image.tag="$IMAGE_TAG" --set s3.embedded.image.tag="$IMAGE_TAG" "${S3_ARGS[@]}" \
  --set-json 'stepNamespaces=["default"]' \
  --wait --timeout 300s
kubectl -n "$NS" rollout status deployment/kubeline-operator --timeout=300s
kubectl -n "$NS" get pods -o wide

bold "4/6 the iris pipeline (seed 000, imports changed only)"
python examples/iris/run.py
run=$(python -c 'from kubeline.client import Client; print(Client().get_pipeline("training_pipeline").last_run.name)')

bold "5/6 lineage of $run"
kubeline run describe "$run"
python examples/iris/predict.py

bold "6/6 the same pipeline again: every step cached"
python examples/iris/run.py
run2=$(python -c 'from kubeline.client import Client; print(Client().get_pipeline("training_pipeline").last_run.name)')
kubeline run describe "$run2"

bold "done in $(( $(date +%s) - t0 ))s"
cat <<EOF
Where to look next:
  kubectl get kubeline                      every Kubeline object (pipelines, snapshots, runs, artifacts)
  kubectl describe pipelinerun $run2        status, conditions and events of the cached run
  kubeline pipeline runs list               runs with status, progress and cache hits
  kubeline artifact list                    versioned outputs in S3
  kubeline run logs $run svc_trainer        a step's log
  kubeline dev down                         stop the local cluster
EOF
