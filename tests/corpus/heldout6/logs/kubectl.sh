#!/bin/sh
# Held-out corpus part 6: real output of kubectl used entirely offline (client-side dry runs,
# kubeconfig editing and kustomize builds against files created in $1), written by someone who had
# read neither the detector's rules nor any other corpus part. No cluster, no network, no secrets:
# the kubeconfig uses an exec credential plugin reference, never a token or a key.
set -e
cd "$1"
HOME="$PWD"
KUBECONFIG="$PWD/kubeconfig"
export HOME KUBECONFIG
k() { kubectl "$@" 2>&1; }

printf 'build %s\n' 2.4.1 > artifact.txt
DIGEST=$(sha256sum artifact.txt | cut -c1-64)

k config set-cluster prod-eu --server=https://127.0.0.1:6443 --insecure-skip-tls-verify=true
k config set-cluster dev --server=https://127.0.0.1:7443 --tls-server-name=dev.cluster.internal
k config set-credentials ci-deployer --client-certificate=/etc/kubernetes/pki/ci-deployer.crt \
  --client-key=/etc/kubernetes/pki/ci-deployer.key
k config set-credentials oidc-user --exec-api-version=client.authentication.k8s.io/v1 \
  --exec-command=kubectl-example-login --exec-arg=get-token --exec-arg=--issuer=https://login.example.com \
  --exec-arg=--client-id=kubernetes --exec-interactive-mode=Never
k config set-context prod-eu --cluster=prod-eu --user=ci-deployer --namespace=payments
k config set-context dev --cluster=dev --user=oidc-user --namespace=default
k config use-context prod-eu
k config get-contexts
k config view
k config view --minify -o jsonpath='{.contexts[0].context}'
echo

# the dry runs below use an empty kubeconfig so that no credential plugin is ever invoked
KUBECONFIG="$PWD/empty-kubeconfig"
: > "$KUBECONFIG"
k create deployment api --image="ghcr.io/example/api@sha256:$DIGEST" --replicas=3 --port=8080 --dry-run=client -o yaml
k create service clusterip api --tcp=80:8080 --dry-run=client -o yaml
k create configmap api-settings --from-literal=LOG_LEVEL=info --from-literal=TOKEN_TTL_SECONDS=900 \
  --from-literal=SECRETS_BACKEND=vault --from-file=artifact.txt --dry-run=client -o yaml
k create serviceaccount api --dry-run=client -o yaml
k create cronjob rotate-keys --image=ghcr.io/example/rotator:1.3.0 --schedule="17 3 * * *" --dry-run=client -o yaml -- /bin/rotate --dry-run
k create poddisruptionbudget api --selector=app=api --min-available=2 --dry-run=client -o yaml
k create priorityclass batch-low --value=1000 --description="low priority batch jobs" --dry-run=client -o yaml

mkdir -p base
cat > base/deployment.yaml <<'YAML'
apiVersion: apps/v1
kind: Deployment
metadata:
  name: worker
spec:
  template:
    spec:
      containers:
        - name: worker
          image: ghcr.io/example/worker:1.0.0
          envFrom:
            - configMapRef:
                name: worker-config
          env:
            - name: DB_PASSWORD
              valueFrom:
                secretKeyRef:
                  name: worker-db
                  key: password
YAML
cat > base/kustomization.yaml <<'YAML'
resources:
  - deployment.yaml
namePrefix: prod-
labels:
  - pairs:
      app.kubernetes.io/part-of: billing
    includeSelectors: true
images:
  - name: ghcr.io/example/worker
    newTag: 1.4.2
configMapGenerator:
  - name: worker-config
    literals:
      - QUEUE=invoices
      - API_KEY_HEADER=X-Api-Key
      - VAULT_ADDR=https://vault.internal:8200
YAML
k kustomize base
