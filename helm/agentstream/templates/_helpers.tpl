{{- define "agentstream.labels" -}}
app.kubernetes.io/part-of: agentstream
app.kubernetes.io/managed-by: {{ .Release.Service }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}
{{- define "agentstream.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}
