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

{{/* The S3 Secret's data, from values (used for the release namespace and every step namespace). */}}
{{- define "kubeline.s3Data" -}}
bucket: {{ required "s3.bucket is required (or set s3.existingSecret)" .Values.s3.bucket | b64enc | quote }}
{{- range $key := list "endpoint" "region" "accessKeyId" "secretAccessKey" }}
{{- with index $.Values.s3 $key }}
{{ $key }}: {{ . | b64enc | quote }}
{{- end }}
{{- end }}
{{- end }}

{{/* Namespaces that need the S3 Secret: the release namespace and every step namespace. */}}
{{- define "kubeline.secretNamespaces" -}}
{{- prepend .Values.stepNamespaces .Release.Namespace | uniq | toJson }}
{{- end }}
