#!/usr/bin/env bash
# `make kind`: the install path on a kind cluster, for machines with Docker. NOT run by CI:
# the build machine has no Docker engine (docs/install.md says so). It shares every step it
# can with the tested path: the same Dockerfile targets, the same chart and values schema,
# the same manifests/. Steps: create the kind cluster, build and load both images (and the
# example model sidecar), helm install the chart, create a development wallet Secret, apply
# the samples, show `kubectl get sparketminers`.
#
# The samples use the well-known development key //Alice on finney: the miners start, but
# stay not Ready (Alice is not registered on subnet 57). Put your own hotkey in a copy of
# manifests/sparketminer.yaml to mine for real.
set -euo pipefail
cd "$(dirname "$0")/.."

cluster="${KIND_CLUSTER:-sparket}"
tag="${IMAGE_TAG:-0.1.0}"
namespace=sparket
missing=()
for tool in docker kind kubectl helm; do
  command -v "$tool" >/dev/null 2>&1 || missing+=("$tool")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "kind-demo: missing: ${missing[*]} (this target needs Docker, kind, kubectl and helm)" >&2
  exit 2
fi
docker info >/dev/null 2>&1 || { echo "kind-demo: the Docker engine is not reachable" >&2; exit 2; }

kind get clusters | grep -qx "$cluster" || kind create cluster --name "$cluster" --wait 120s
kubectl config use-context "kind-$cluster" >/dev/null

docker build --target miner-runtime -t "sparket-miner-runtime:$tag" .
docker build --target operator -t "sparket-operator:$tag" .
docker build -t "sparket-model-example:$tag" miner_runtime/examples/model_sidecar
for image in sparket-miner-runtime sparket-operator sparket-model-example; do
  kind load docker-image --name "$cluster" "$image:$tag"
done

kubectl create namespace "$namespace" --dry-run=client -o yaml | kubectl apply -f -
kubectl label namespace "$namespace" pod-security.kubernetes.io/enforce=restricted --overwrite
helm upgrade --install sparket-operator charts/sparket-operator --namespace "$namespace" \
  --set operator.image.tag="$tag" --set runtime.image.tag="$tag" --wait --timeout 180s

# Development wallet Secrets (//Alice, //Bob, //Charlie: public test keys, never real funds),
# made by the same code the chart tests use.
for pair in miner-1-wallet://Alice miner-lb-1-wallet://Bob miner-model-1-wallet://Charlie; do
  python3 -m uv run --locked --all-packages sparket-local-cluster dev-wallet-secret \
    --name "${pair%%:*}" --uri "${pair#*:}" --namespace "$namespace" | kubectl apply -f -
done
kubectl apply -f manifests/sparketminer.yaml -f manifests/samples/
sleep 20
kubectl get sparketminers -n "$namespace" -o wide
echo "kind-demo: remove it all with: kind delete cluster --name $cluster"
