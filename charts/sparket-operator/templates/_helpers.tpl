{{/* Names, labels and the operator's settings, shared by every template. */}}

{{- define "sparket.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sparket.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "sparket.redisName" -}}
{{- printf "%s-redis" (include "sparket.fullname" .) | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "sparket.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "sparket.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name is required when serviceAccount.create is false" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{/* Labels on every object; `sparket.selectorLabels` is the stable subset. */}}
{{- define "sparket.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" }}
{{ include "sparket.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: sparket
{{- end -}}

{{- define "sparket.selectorLabels" -}}
app.kubernetes.io/name: {{ include "sparket.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "sparket.operatorSelectorLabels" -}}
{{ include "sparket.selectorLabels" . }}
app.kubernetes.io/component: operator
{{- end -}}

{{- define "sparket.redisSelectorLabels" -}}
{{ include "sparket.selectorLabels" . }}
app.kubernetes.io/component: redis
{{- end -}}

{{/* The label miner pods carry (sparket_operator.reconcile.naming.APP_NAME). */}}
{{- define "sparket.minerSelector" -}}
app.kubernetes.io/name: sparket-miner
{{- end -}}

{{/* Namespaces the operator watches; empty list = the whole cluster. */}}
{{- define "sparket.watchNamespaces" -}}
{{- if eq .Values.rbac.scope "namespaced" -}}
{{- toJson (uniq (default (list .Release.Namespace) .Values.watchNamespaces)) -}}
{{- else -}}
[]
{{- end -}}
{{- end -}}

{{/* The `redis` values of an external or Sentinel Redis (empty dict: bundled). */}}
{{- define "sparket.redisAccess" -}}
{{- if eq .Values.redis.mode "external" -}}
{{- toJson .Values.redis.external -}}
{{- else if eq .Values.redis.mode "sentinel" -}}
{{- toJson .Values.redis.sentinel -}}
{{- else -}}
{}
{{- end -}}
{{- end -}}

{{/* The budget section of every miner's runtime config, from the `redis` values. The
password and CA never pass through here: see sparket.budgetSecretSettings. */}}
{{- define "sparket.budgetRedis" -}}
{{- $mode := .Values.redis.mode -}}
{{- $budget := dict -}}
{{- if eq $mode "bundled" -}}
{{- $_ := set $budget "redis_url" (printf "redis://%s.%s.svc:6379/0" (include "sparket.redisName" .) .Release.Namespace) -}}
{{- else if eq $mode "external" -}}
{{- $url := required "redis.external.url is required when redis.mode is external" .Values.redis.external.url -}}
{{- if contains "@" $url -}}{{- fail "redis.external.url must not hold a password: it is written into a ConfigMap; use redis.external.existingSecret" -}}{{- end -}}
{{- if and .Values.redis.external.tls.caKey (not (hasPrefix "rediss://" $url)) -}}{{- fail "redis.external.tls.caKey needs a rediss:// redis.external.url" -}}{{- end -}}
{{- $_ := set $budget "redis_url" $url -}}
{{- else -}}
{{- if not .Values.redis.sentinel.hosts -}}{{- fail "redis.sentinel.hosts is required when redis.mode is sentinel" -}}{{- end -}}
{{- if and .Values.redis.sentinel.tls.caKey (not .Values.redis.sentinel.tls.enabled) -}}{{- fail "redis.sentinel.tls.caKey needs redis.sentinel.tls.enabled" -}}{{- end -}}
{{- $_ := set $budget "sentinels" .Values.redis.sentinel.hosts -}}
{{- $_ := set $budget "sentinel_service" .Values.redis.sentinel.service -}}
{{- if .Values.redis.sentinel.tls.enabled -}}{{- $_ := set $budget "redis_tls" true -}}{{- end -}}
{{- end -}}
{{- $access := include "sparket.redisAccess" . | fromJson -}}
{{- with $access.username -}}{{- $_ := set $budget "redis_username" . -}}{{- end -}}
{{- toJson $budget -}}
{{- end -}}

{{/* SPARKET_OPERATOR_BUDGET_* settings: the Secret with the budget Redis's credentials,
which the operator mounts into every miner pod (only the keys named here). */}}
{{- define "sparket.budgetSecretSettings" -}}
{{- $access := include "sparket.redisAccess" . | fromJson -}}
{{- if $access.existingSecret -}}
{{- $tls := default (dict) $access.tls -}}
{{- $settings := dict "SPARKET_OPERATOR_BUDGET_REDIS_SECRET" $access.existingSecret "SPARKET_OPERATOR_BUDGET_REDIS_PASSWORD_KEY" $access.passwordKey "SPARKET_OPERATOR_BUDGET_REDIS_CA_KEY" (default "" $tls.caKey) "SPARKET_OPERATOR_BUDGET_SENTINEL_PASSWORD_KEY" (default "" $access.sentinelPasswordKey) -}}
{{- if not (or $access.passwordKey $tls.caKey $access.sentinelPasswordKey) -}}{{- fail (printf "redis.%s.existingSecret is set but no key is named to mount from it (passwordKey, tls.caKey)" .Values.redis.mode) -}}{{- end -}}
{{- toJson $settings -}}
{{- else -}}
{{- $tls := default (dict) $access.tls -}}
{{- if or $tls.caKey $access.sentinelPasswordKey -}}{{- fail (printf "redis.%s: tls.caKey and sentinelPasswordKey are keys of existingSecret, which is empty" .Values.redis.mode) -}}{{- end -}}
{}
{{- end -}}
{{- end -}}

{{/* SPARKET_OPERATOR_RUNTIME_DEFAULTS: runtime.config with the budget store laid over it. */}}
{{- define "sparket.runtimeDefaults" -}}
{{- $defaults := deepCopy .Values.runtime.config -}}
{{- $budget := mustMergeOverwrite (deepCopy (default (dict) (get $defaults "budget"))) (include "sparket.budgetRedis" . | fromJson) -}}
{{- $_ := set $defaults "budget" $budget -}}
{{- toJson $defaults -}}
{{- end -}}

{{- define "sparket.imageTag" -}}
{{- default .root.Chart.AppVersion .image.tag -}}
{{- end -}}

{{/* The Pod Security Standard `restricted` container securityContext. */}}
{{- define "sparket.containerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
runAsNonRoot: true
capabilities:
  drop: ["ALL"]
{{- end -}}
