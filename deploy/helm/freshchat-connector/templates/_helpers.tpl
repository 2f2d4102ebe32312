{{/* The chart's name, or nameOverride. */}}
{{- define "freshchat-connector.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's full name: fullnameOverride, or <release>-<name>, or the
release name alone when it already holds the chart name.
*/}}
{{- define "freshchat-connector.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "freshchat-connector.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "freshchat-connector.labels" -}}
helm.sh/chart: {{ include "freshchat-connector.chart" . }}
{{ include "freshchat-connector.selectorLabels" . }}
app.kubernetes.io/version: {{ .Values.image.tag | default .Chart.AppVersion | quote }}
app.kubernetes.io/component: connector
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}

{{- define "freshchat-connector.selectorLabels" -}}
app.kubernetes.io/name: {{ include "freshchat-connector.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{- define "freshchat-connector.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "freshchat-connector.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/* repository:tag, or repository@digest when a digest is given. */}}
{{- define "freshchat-connector.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion | toString) }}
{{- end }}
{{- end }}

{{/* Where the mounted Secret files live. */}}
{{- define "freshchat-connector.secretsDir" -}}/etc/freshchat-connector{{- end }}

{{/*
The Secret files the chart mounts, as a list of
{volume, secret, mountPath, items: [{key, path}], env: {VAR: file}}.
Everything that mounts or names a Secret file derives from this one list.
*/}}
{{- define "freshchat-connector.secretFiles" -}}
{{- $dir := include "freshchat-connector.secretsDir" . }}
{{- $v := .Values }}
{{- $files := list }}
{{- with $v.freshchat.apiToken }}
{{- if and .existingSecret (not $v.accounts) }}
{{- $files = append $files (dict "volume" "freshchat-api-token" "secret" .existingSecret "mountPath" (printf "%s/freshchat" $dir) "items" (list (dict "key" .key "path" "api-token")) "env" (dict "FRESHCHAT_API_TOKEN_FILE" (printf "%s/freshchat/api-token" $dir))) }}
{{- end }}
{{- end }}
{{- with $v.kafka.sasl.password }}
{{- if .existingSecret }}
{{- $files = append $files (dict "volume" "kafka-sasl" "secret" .existingSecret "mountPath" (printf "%s/kafka-sasl" $dir) "items" (list (dict "key" .key "path" "password")) "env" (dict "KAFKA_SASL_PASSWORD_FILE" (printf "%s/kafka-sasl/password" $dir))) }}
{{- end }}
{{- end }}
{{- with $v.kafka.tls.ca }}
{{- if .existingSecret }}
{{- $files = append $files (dict "volume" "kafka-tls-ca" "secret" .existingSecret "mountPath" (printf "%s/kafka-tls-ca" $dir) "items" (list (dict "key" .key "path" "ca.crt")) "env" (dict "KAFKA_TLS_CA_FILE" (printf "%s/kafka-tls-ca/ca.crt" $dir))) }}
{{- end }}
{{- end }}
{{- with $v.kafka.tls.clientCert }}
{{- if .existingSecret }}
{{- $files = append $files (dict "volume" "kafka-tls-client" "secret" .existingSecret "mountPath" (printf "%s/kafka-tls-client" $dir) "items" (list (dict "key" .certKey "path" "tls.crt") (dict "key" .keyKey "path" "tls.key")) "env" (dict "KAFKA_TLS_CERT_FILE" (printf "%s/kafka-tls-client/tls.crt" $dir) "KAFKA_TLS_KEY_FILE" (printf "%s/kafka-tls-client/tls.key" $dir))) }}
{{- end }}
{{- end }}
{{- with $v.schemaRegistry.password }}
{{- if .existingSecret }}
{{- $files = append $files (dict "volume" "registry-auth" "secret" .existingSecret "mountPath" (printf "%s/registry-auth" $dir) "items" (list (dict "key" .key "path" "password")) "env" (dict "SCHEMA_REGISTRY_PASSWORD_FILE" (printf "%s/registry-auth/password" $dir))) }}
{{- end }}
{{- end }}
{{- with $v.schemaRegistry.tls.ca }}
{{- if .existingSecret }}
{{- $files = append $files (dict "volume" "registry-tls-ca" "secret" .existingSecret "mountPath" (printf "%s/registry-tls-ca" $dir) "items" (list (dict "key" .key "path" "ca.crt")) "env" (dict "SCHEMA_REGISTRY_TLS_CA_FILE" (printf "%s/registry-tls-ca/ca.crt" $dir))) }}
{{- end }}
{{- end }}
{{- with $v.schemaRegistry.tls.clientCert }}
{{- if .existingSecret }}
{{- $files = append $files (dict "volume" "registry-tls-client" "secret" .existingSecret "mountPath" (printf "%s/registry-tls-client" $dir) "items" (list (dict "key" .certKey "path" "tls.crt") (dict "key" .keyKey "path" "tls.key")) "env" (dict "SCHEMA_REGISTRY_TLS_CERT_FILE" (printf "%s/registry-tls-client/tls.crt" $dir) "SCHEMA_REGISTRY_TLS_KEY_FILE" (printf "%s/registry-tls-client/tls.key" $dir))) }}
{{- end }}
{{- end }}
{{- toJson (dict "files" $files) }}
{{- end }}

{{/*
The environment variables the chart sets from its own keys, by variable,
with the values key to use instead of env.<VAR>.
*/}}
{{- define "freshchat-connector.managedEnv" -}}
{{- toJson (dict
  "FRESHCHAT_API_URL" "freshchat.apiUrl"
  "FRESHCHAT_API_TOKEN" "freshchat.apiToken.existingSecret"
  "FRESHCHAT_API_TOKEN_FILE" "freshchat.apiToken.existingSecret"
  "KAFKA_BROKERS" "kafka.brokers"
  "KAFKA_TLS_ENABLED" "kafka.tls.enabled"
  "KAFKA_TLS_CA_FILE" "kafka.tls.ca.existingSecret"
  "KAFKA_TLS_CERT_FILE" "kafka.tls.clientCert.existingSecret"
  "KAFKA_TLS_KEY_FILE" "kafka.tls.clientCert.existingSecret"
  "KAFKA_TLS_SERVER_NAME" "kafka.tls.serverName"
  "KAFKA_SASL_MECHANISM" "kafka.sasl.mechanism"
  "KAFKA_SASL_USERNAME" "kafka.sasl.username"
  "KAFKA_SASL_PASSWORD" "kafka.sasl.password.existingSecret"
  "KAFKA_SASL_PASSWORD_FILE" "kafka.sasl.password.existingSecret"
  "SCHEMA_REGISTRY_URL" "schemaRegistry.url"
  "SCHEMA_REGISTRY_USERNAME" "schemaRegistry.username"
  "SCHEMA_REGISTRY_PASSWORD" "schemaRegistry.password.existingSecret"
  "SCHEMA_REGISTRY_PASSWORD_FILE" "schemaRegistry.password.existingSecret"
  "SCHEMA_REGISTRY_TLS_CA_FILE" "schemaRegistry.tls.ca.existingSecret"
  "SCHEMA_REGISTRY_TLS_CERT_FILE" "schemaRegistry.tls.clientCert.existingSecret"
  "SCHEMA_REGISTRY_TLS_KEY_FILE" "schemaRegistry.tls.clientCert.existingSecret"
  "METRICS_ADDR" "metrics.port"
  "GROUP_INSTANCE_ID" "nothing: the chart sets it to the pod's name"
  "FRESHCHAT_ACCOUNTS" "accounts"
) }}
{{- end }}

{{/* How an account's name is written in its variables (config.AccountEnv): upper case, '-' as '_'. */}}
{{- define "freshchat-connector.accountEnvName" -}}
{{- . | toString | replace "-" "_" | upper }}
{{- end }}

{{/* The accounts' names, comma-separated: FRESHCHAT_ACCOUNTS. */}}
{{- define "freshchat-connector.accountNames" -}}
{{- $names := list }}
{{- range .Values.accounts }}
{{- $names = append $names .name }}
{{- end }}
{{- join "," $names }}
{{- end }}

{{/* Names that hold secrets: never a plain value in the pod spec. */}}
{{- define "freshchat-connector.secretNamePattern" -}}
_(PASSWORD|TOKEN|SECRET|SECRET_ACCESS_KEY|PRIVATE_KEY|CREDENTIALS)$
{{- end }}

{{/* Fails the render on values that cannot work together. */}}
{{- define "freshchat-connector.validate" -}}
{{- $v := .Values }}
{{- if $v.accounts }}
{{- if $v.freshchat.apiUrl }}
{{- fail "freshchat.apiUrl: with accounts, each account has its own apiUrl (accounts[].apiUrl); leave freshchat.apiUrl empty" }}
{{- end }}
{{- $seen := dict }}
{{- range $i, $a := $v.accounts }}
{{- $envName := include "freshchat-connector.accountEnvName" $a.name }}
{{- if hasKey $seen $envName }}
{{- fail (printf "accounts[%d].name %q: another account has the variables FRESHCHAT_ACCOUNT_%s_* (names are upper-cased, '-' written '_')" $i $a.name $envName) }}
{{- end }}
{{- $_ := set $seen $envName true }}
{{- end }}
{{- else if not $v.freshchat.apiToken.existingSecret }}
{{- fail "freshchat.apiToken.existingSecret: name the Secret holding the Freshchat API token (the chart never takes the token as a value)" }}
{{- end }}
{{- $mech := upper (toString $v.kafka.sasl.mechanism) }}
{{- if not (has $mech (list "NONE" "PLAIN" "SCRAM-SHA-256" "SCRAM-SHA-512")) }}
{{- fail (printf "kafka.sasl.mechanism %q: must be none, PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512" $v.kafka.sasl.mechanism) }}
{{- end }}
{{- if ne $mech "NONE" }}
{{- if not $v.kafka.sasl.username }}
{{- fail (printf "kafka.sasl.username: required with kafka.sasl.mechanism %s" $v.kafka.sasl.mechanism) }}
{{- end }}
{{- if not $v.kafka.sasl.password.existingSecret }}
{{- fail (printf "kafka.sasl.password.existingSecret: name the Secret holding the SASL password (required with kafka.sasl.mechanism %s)" $v.kafka.sasl.mechanism) }}
{{- end }}
{{- else if or $v.kafka.sasl.username $v.kafka.sasl.password.existingSecret }}
{{- fail "kafka.sasl.username and kafka.sasl.password need kafka.sasl.mechanism (PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512)" }}
{{- end }}
{{- if and (not $v.kafka.tls.enabled) (or $v.kafka.tls.ca.existingSecret $v.kafka.tls.clientCert.existingSecret $v.kafka.tls.serverName) }}
{{- fail "kafka.tls.ca, kafka.tls.clientCert and kafka.tls.serverName need kafka.tls.enabled: true" }}
{{- end }}
{{- if and $v.schemaRegistry.username (not $v.schemaRegistry.password.existingSecret) }}
{{- fail "schemaRegistry.password.existingSecret: name the Secret holding the registry password (required with schemaRegistry.username)" }}
{{- end }}
{{- if and $v.schemaRegistry.password.existingSecret (not $v.schemaRegistry.username) }}
{{- fail "schemaRegistry.username: required with schemaRegistry.password" }}
{{- end }}
{{- if and (not $v.schemaRegistry.url) (or $v.schemaRegistry.username $v.schemaRegistry.tls.ca.existingSecret $v.schemaRegistry.tls.clientCert.existingSecret) }}
{{- fail "schemaRegistry.username, schemaRegistry.tls.ca and schemaRegistry.tls.clientCert need schemaRegistry.url" }}
{{- end }}
{{- $managed := include "freshchat-connector.managedEnv" . | fromJson }}
{{- $secretName := include "freshchat-connector.secretNamePattern" . }}
{{- range $name, $value := $v.env }}
{{- if hasKey $managed $name }}
{{- fail (printf "env.%s: set %s instead" $name (get $managed $name)) }}
{{- end }}
{{- if hasPrefix "FRESHCHAT_ACCOUNT_" $name }}
{{- fail (printf "env.%s: set accounts instead" $name) }}
{{- end }}
{{- if regexMatch $secretName $name }}
{{- fail (printf "env.%s: secrets are never values; mount a Secret (extraVolumes, extraVolumeMounts) and set the matching _FILE variable, or use extraEnv with valueFrom.secretKeyRef" $name) }}
{{- end }}
{{- if not (regexMatch "^[A-Z][A-Z0-9_]*$" $name) }}
{{- fail (printf "env.%s: not an environment variable name (upper case, digits, _)" $name) }}
{{- end }}
{{- if or (kindIs "map" $value) (kindIs "slice" $value) }}
{{- fail (printf "env.%s: must be a string, number or boolean" $name) }}
{{- end }}
{{- end }}
{{- range $v.extraEnv }}
{{- if hasKey $managed .name }}
{{- fail (printf "extraEnv %s: set %s instead" .name (get $managed .name)) }}
{{- end }}
{{- if hasPrefix "FRESHCHAT_ACCOUNT_" .name }}
{{- fail (printf "extraEnv %s: set accounts instead" .name) }}
{{- end }}
{{- if hasKey $v.env .name }}
{{- fail (printf "extraEnv %s: also set in env" .name) }}
{{- end }}
{{- if and (regexMatch $secretName .name) (not .valueFrom) }}
{{- fail (printf "extraEnv %s: secrets are never values; use valueFrom.secretKeyRef" .name) }}
{{- end }}
{{- end }}
{{- end }}

{{/* An env value as a quoted string: 1000000 stays 1000000, not 1e+06. */}}
{{- define "freshchat-connector.envValue" -}}
{{- if kindIs "float64" . }}
{{- if eq . (floor .) }}{{ int64 . | toString | quote }}{{ else }}{{ . | toString | quote }}{{ end }}
{{- else }}
{{- . | toString | quote }}
{{- end }}
{{- end }}
