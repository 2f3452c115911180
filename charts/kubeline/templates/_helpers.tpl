{{/* Chart name, truncated to a DNS label. */}}
{{- define "kubeline.name" -}}
{{- .Chart.Name | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Release-scoped base name: the release name when it already contains the chart name. */}}
{{- define "kubeline.fullname" -}}
{{- if contains .Chart.Name .Release.Name }}
{{- .Release.Name | trunc 50 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name .Chart.Name | trunc 50 | trimSuffix "-" }}
{{- end }}
{{- end }}

{{- define "kubeline.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels on every object of the chart. */}}
{{- define "kubeline.labels" -}}
helm.sh/chart: {{ include "kubeline.chart" . }}
app.kubernetes.io/name: {{ include "kubeline.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: kubeline
{{- end }}

{{/* Selector labels of the operator Pod. */}}
{{- define "kubeline.operatorSelector" -}}
app.kubernetes.io/name: {{ include "kubeline.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: operator
{{- end }}

{{- define "kubeline.operatorName" -}}
{{- printf "%s-operator" (include "kubeline.fullname" .) }}
{{- end }}

{{- define "kubeline.operatorServiceAccount" -}}
{{- default (include "kubeline.operatorName" .) .Values.operator.serviceAccount.name }}
{{- end }}

{{/* The image of the operator and, by default, of step Pods. */}}
{{- define "kubeline.image" -}}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}

{{/* Name of the S3 Secret the operator and step Pods read (docs/contracts.md). */}}
{{- define "kubeline.s3Secret" -}}
{{- default "kubeline-s3" .Values.s3.existingSecret }}
{{- end }}

{{/* "true" when the embedded S3 server runs: s3.embedded.enabled, or (null) when no S3
setting is given. Fails when it is forced on next to settings it would ignore. */}}
{{- define "kubeline.embedded" -}}
{{- $s3 := .Values.s3 }}
{{- $given := list }}
{{- range $key := list "endpoint" "existingSecret" "accessKeyId" "secretAccessKey" "workloadIdentity" }}
{{- if index $s3 $key }}{{ $given = append $given (printf "s3.%s" $key) }}{{ end }}
{{- end }}
{{- $enabled := dig "enabled" nil ($s3.embedded | default dict) }}
{{- if kindIs "bool" $enabled }}
{{- if and $enabled $given }}
{{- fail (printf "s3.embedded.enabled=true runs an in-cluster S3 server, but %s is also set: set s3.embedded.enabled=false to use your S3 settings, or unset them" (join ", " $given)) }}
{{- end }}
{{- if $enabled }}true{{ end }}
{{- else if not $given }}true
{{- end }}
{{- end }}

{{/* Refuse, at install time, S3 settings that cannot work (docs/install.md). */}}
{{- define "kubeline.validateS3" -}}
{{- if contains "{namespace}" (.Values.s3.bucket | default "") }}
{{- range $ns := .Values.stepNamespaces | uniq }}
{{- $name := replace "{namespace}" $ns $.Values.s3.bucket }}
{{- if or (lt (len $name) 3) (gt (len $name) 63) }}
{{- fail (printf "bucket %s for step namespace %s is not 3-63 characters long (an S3 bucket name): shorten the bucket setting s3.bucket=%s or the namespace name" $name $ns $.Values.s3.bucket) }}
{{- end }}
{{- end }}
{{- end }}
{{- if eq .Values.s3.stepCredentials "perNamespace" }}
{{- if not (contains "{namespace}" .Values.s3.bucket) }}
{{- if include "kubeline.embedded" . }}
{{- fail (printf "s3.stepCredentials=perNamespace (the default) with the embedded store gives each step namespace a bucket of its own: set s3.bucket to a pattern with {namespace}, e.g. kubeline-{namespace} (it is %s)" .Values.s3.bucket) }}
{{- end }}
{{- end }}
{{- if has .Release.Namespace .Values.stepNamespaces }}
{{- fail (printf "s3.stepCredentials=perNamespace (the default): the release namespace %s is in stepNamespaces, so its steps would read the operator's own S3 credentials; run steps in other namespaces, or set s3.stepCredentials=shared to accept that every step reads and writes every namespace's artifacts (docs/security.md)" .Release.Namespace) }}
{{- end }}
{{- end }}
{{- if not (include "kubeline.embedded" .) }}
{{- $s3 := .Values.s3 }}
{{- $help := "set s3.endpoint (empty only for AWS S3), s3.bucket and credentials (s3.accessKeyId and s3.secretAccessKey, or s3.workloadIdentity=true for IRSA), or set s3.existingSecret to a Secret with the keys bucket, endpoint, region, accessKeyId, secretAccessKey (see docs/install.md), or leave every S3 value unset for the embedded store" }}
{{- if not $s3.existingSecret }}
{{- $missing := list }}
{{- if not $s3.bucket }}{{ $missing = append $missing "s3.bucket" }}{{ end }}
{{- if not $s3.workloadIdentity }}
{{- if not $s3.accessKeyId }}{{ $missing = append $missing "s3.accessKeyId" }}{{ end }}
{{- if not $s3.secretAccessKey }}{{ $missing = append $missing "s3.secretAccessKey" }}{{ end }}
{{- end }}
{{- if $missing }}
{{- fail (printf "S3 settings are missing (%s not set; the embedded store is off): %s" (join ", " $missing) $help) }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{- define "kubeline.storeName" -}}
{{- printf "%s-store" (include "kubeline.fullname" .) }}
{{- end }}

{{/* Selector labels of the embedded store Pod. */}}
{{- define "kubeline.storeSelector" -}}
app.kubernetes.io/name: {{ include "kubeline.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: store
{{- end }}

{{- define "kubeline.storeImage" -}}
{{- $img := .Values.s3.embedded.image }}
{{- printf "%s:%s" $img.repository (default .Chart.AppVersion $img.tag) }}
{{- end }}

{{/* The embedded store's root credentials as JSON {"accessKey", "secretKey"}: those of the
Secret a previous install created (so `helm upgrade` keeps them), else generated once per
render. The result is memoized in .Release (a per-render map: not in .Values, whose chart
defaults Helm stores in the release record) so every Secret of one render gets the same keys. */}}
{{- define "kubeline.storeKeys" -}}
{{- $memo := .Release }}
{{- if not (hasKey $memo "generatedKeys") }}
{{- $keys := dict "accessKey" (printf "kl%s" (randAlphaNum 18 | lower)) "secretKey" (randAlphaNum 40) }}
{{- $old := lookup "v1" "Secret" .Release.Namespace (include "kubeline.storeName" .) }}
{{- $data := dig "data" dict ($old | default dict) }}
{{- if and (hasKey $data "rootAccessKey") (hasKey $data "rootSecretKey") }}
{{- $keys = dict "accessKey" (index $data "rootAccessKey" | b64dec) "secretKey" (index $data "rootSecretKey" | b64dec) }}
{{- end }}
{{- $_ := set $memo "generatedKeys" $keys }}
{{- end }}
{{- toJson (index $memo "generatedKeys") }}
{{- end }}

{{/* The buckets the embedded store creates at start (stepCredentials shared): the bucket
setting, or with {namespace} in it each step namespace's bucket; as a JSON list. */}}
{{- define "kubeline.storeBuckets" -}}
{{- $buckets := list .Values.s3.bucket }}
{{- if contains "{namespace}" .Values.s3.bucket }}
{{- $buckets = list }}
{{- range $ns := .Values.stepNamespaces | uniq }}
{{- $buckets = append $buckets (replace "{namespace}" $ns $.Values.s3.bucket) }}
{{- end }}
{{- end }}
{{- toJson $buckets }}
{{- end }}

{{/* With the embedded store and stepCredentials perNamespace: each step namespace's account
in the store as JSON {namespace: {"accessKey", "secretKey", "bucket"}}. Keys come from the
accounts Secret of a previous install (so `helm upgrade` keeps them), else are generated;
memoized in .Release like storeKeys. The store makes these accounts when it starts. */}}
{{- define "kubeline.namespaceAccounts" -}}
{{- $memo := .Release }}
{{- if not (hasKey $memo "namespaceAccounts") }}
{{- $old := lookup "v1" "Secret" .Release.Namespace (printf "%s-accounts" (include "kubeline.storeName" .)) }}
{{- $data := dig "data" dict ($old | default dict) }}
{{- $accounts := dict }}
{{- range $ns := .Values.stepNamespaces | uniq }}
{{- $secret := randAlphaNum 40 }}
{{- with index $data $ns }}{{ $secret = index (splitList " " (b64dec .)) 1 }}{{ end }}
{{- $_ := set $accounts $ns (dict "accessKey" (printf "ns-%s" $ns) "secretKey" $secret "bucket" (replace "{namespace}" $ns $.Values.s3.bucket)) }}
{{- end }}
{{- $_ := set $memo "namespaceAccounts" $accounts }}
{{- end }}
{{- toJson (index $memo "namespaceAccounts") }}
{{- end }}

{{/* The embedded store's endpoint for Pods: its Service's DNS name, or a pinned ClusterIP. */}}
{{- define "kubeline.storeEndpoint" -}}
{{- $e := .Values.s3.embedded }}
{{- $host := printf "%s.%s.svc" (include "kubeline.storeName" .) .Release.Namespace }}
{{- with $e.service.clusterIP }}{{ $host = . }}{{ end }}
{{- printf "http://%s:%d" $host (int $e.port) }}
{{- end }}

{{/* The S3 Secret's data, for dict "ctx" (the root context) and "namespace": from values,
or the embedded store's endpoint and keys plus its Service for clients outside the cluster
(key inClusterService, docs/contracts.md). A step namespace's copy names that namespace's
bucket ({namespace} in s3.bucket replaced); the operator's ("namespace" empty) keeps the
setting. With stepCredentials perNamespace a step namespace's copy has no keys, or with the
embedded store that namespace's own account (kubeline.namespaceAccounts). */}}
{{- define "kubeline.s3Data" -}}
{{- $ := .ctx }}
{{- $bucket := required "s3.bucket is required (or set s3.existingSecret)" $.Values.s3.bucket }}
{{- if .namespace }}{{ $bucket = replace "{namespace}" .namespace $bucket }}{{ end }}
{{- $keys := not (and .namespace (eq $.Values.s3.stepCredentials "perNamespace")) }}
{{- if include "kubeline.embedded" $ }}
{{- $store := include "kubeline.storeKeys" $ | fromJson }}
{{- if not $keys }}
{{- $own := index (include "kubeline.namespaceAccounts" $ | fromJson) .namespace }}
{{- $store = dict "accessKey" $own.accessKey "secretKey" $own.secretKey }}
{{- end }}
bucket: {{ $bucket | b64enc | quote }}
endpoint: {{ include "kubeline.storeEndpoint" $ | b64enc | quote }}
region: {{ $.Values.s3.region | default "us-east-1" | b64enc | quote }}
accessKeyId: {{ $store.accessKey | b64enc | quote }}
secretAccessKey: {{ $store.secretKey | b64enc | quote }}
inClusterService: {{ printf "%s/%s:%d" $.Release.Namespace (include "kubeline.storeName" $) (int $.Values.s3.embedded.port) | b64enc | quote }}
{{- else }}
bucket: {{ $bucket | b64enc | quote }}
{{- range $key := list "endpoint" "region" "accessKeyId" "secretAccessKey" }}
{{- if or $keys (not (has $key (list "accessKeyId" "secretAccessKey"))) }}
{{- with index $.Values.s3 $key }}
{{ $key }}: {{ . | b64enc | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/* Namespaces that need the S3 Secret: the release namespace and every step namespace. */}}
{{- define "kubeline.secretNamespaces" -}}
{{- prepend .Values.stepNamespaces .Release.Namespace | uniq | toJson }}
{{- end }}

{{/* Step Pods' API access: trigger (opt-in), else steps.apiAccess (read | none). */}}
{{- define "kubeline.stepApiAccess" -}}
{{- if .Values.steps.allowTriggeringRuns -}}trigger{{- else -}}{{ .Values.steps.apiAccess }}{{- end -}}
{{- end -}}

{{/* The matchResources of this release's ValidatingAdmissionPolicyBindings on Kubeline
objects (runs, model versions): the namespaces its operator watches, or none (every
namespace) when watchNamespaces is empty. Two releases watching different namespaces then
never judge each other's objects (docs/security.md). */}}
{{- define "kubeline.policyScope" -}}
{{- with .Values.watchNamespaces | uniq }}
matchResources:
  namespaceSelector:
    matchExpressions:
      - key: kubernetes.io/metadata.name
        operator: In
        values:
          {{- toYaml . | nindent 10 }}
{{- end }}
{{- end }}
