#!/usr/bin/env bash
# Writes deploy/k8s/secrets.yaml: fresh CURVE keys from `vnawire keygen` as Kubernetes Secrets. The keys never
# enter git (secrets.yaml is ignored); run it once per cluster, and again to rotate every key.
#   vnawire-server-key    server.secret + server.public: every binding side serves with this pair
#   vnawire-key-<pod>     host.secret: each Deployment's own client key
#   vnawire-authorized    <pod>.public for every Deployment: the keys allowed to connect
set -euo pipefail
cd "$(dirname "$0")"
vnawire="${VNAWIRE:-vnawire}"
keys="$(mktemp -d)"
trap 'rm -rf "$keys"' EXIT
pods=(control fetch dedupe langid extract store)
"$vnawire" keygen --out "$keys" --name server >/dev/null
for pod in "${pods[@]}"; do "$vnawire" keygen --out "$keys" --name "$pod" >/dev/null; done
secret() { kubectl create secret generic "$@" --namespace vnawire --dry-run=client -o yaml; }
{
  secret vnawire-server-key --from-file=server.secret="$keys/server.secret" --from-file=server.public="$keys/server.public"
  for pod in "${pods[@]}"; do
    echo "---"
    secret "vnawire-key-$pod" --from-file=host.secret="$keys/$pod.secret"
  done
  echo "---"
  authorized=()
  for pod in "${pods[@]}"; do authorized+=("--from-file=$pod.public=$keys/$pod.public"); done
  secret vnawire-authorized "${authorized[@]}"
} > secrets.yaml
chmod 600 secrets.yaml
echo "wrote $(pwd)/secrets.yaml; apply with: kubectl apply -k $(pwd)"
