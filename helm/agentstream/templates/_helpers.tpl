{{- define "agentstream.labels" -}}
app.kubernetes.io/part-of: agentstream
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
helm.sh/chart: {{ .Chart.Name }}-{{ .Chart.Version }}
{{- end -}}

{{- define "agentstream.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag }}
{{- end -}}

{{/* The Secret whose keys become environment variables, or "" for none. */}}
{{- define "agentstream.secretName" -}}
{{- if .Values.existingSecret -}}
{{ .Values.existingSecret }}
{{- else if .Values.secret.create -}}
{{ .Release.Name }}-secret
{{- end -}}
{{- end -}}

{{/* envFrom shared by every process: the ConfigMap, then the Secret. */}}
{{- define "agentstream.envFrom" -}}
- configMapRef:
    name: {{ .Release.Name }}-config
{{- with (include "agentstream.secretName" .) }}
- secretRef:
    name: {{ . }}
{{- end }}
{{- end -}}

{{- define "agentstream.podSpecCommon" -}}
{{- with .Values.imagePullSecrets }}
imagePullSecrets: {{- toYaml . | nindent 2 }}
{{- end }}
securityContext: {{- toYaml .Values.podSecurityContext | nindent 2 }}
terminationGracePeriodSeconds: {{ .Values.terminationGracePeriodSeconds }}
{{- end -}}
