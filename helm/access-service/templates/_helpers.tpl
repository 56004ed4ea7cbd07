{{/* The chart's name, overridable. */}}
{{- define "access-service.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
The release's full name: the release name when it already contains the chart
name, else "<release>-<chart>". Truncated to 63 characters (DNS label).
*/}}
{{- define "access-service.fullname" -}}
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

{{/* "name-version" for the helm.sh/chart label. */}}
{{- define "access-service.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels of every object: the chart's, then commonLabels (whose schema
refuses the chart's own names, so none appears twice). The migration and
test pods, which the Service must not select, add commonLabels to a set of
their own.
*/}}
{{- define "access-service.labels" -}}
helm.sh/chart: {{ include "access-service.chart" . }}
{{ include "access-service.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Labels that select the service's pods (never change them on upgrade). */}}
{{- define "access-service.selectorLabels" -}}
app.kubernetes.io/name: {{ include "access-service.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/* The ServiceAccount the pods run as. */}}
{{- define "access-service.serviceAccountName" -}}
{{- if .Values.serviceAccount.create }}
{{- default (include "access-service.fullname" .) .Values.serviceAccount.name }}
{{- else }}
{{- default "default" .Values.serviceAccount.name }}
{{- end }}
{{- end }}

{{/*
repository:tag, or repository@digest when a digest is given (the digest
wins: the tag is then only informative).
*/}}
{{- define "access-service.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* The helm test's image, chosen the same way. */}}
{{- define "access-service.testImage" -}}
{{- with .Values.test.image }}
{{- if .digest }}
{{- printf "%s@%s" .repository .digest }}
{{- else }}
{{- printf "%s:%s" .repository .tag }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The Secret and key of the migration Job's ACCESS_DATABASE_URL: its own
(a user allowed DDL) when migration.database.existingSecret is set, else the
runtime's.
*/}}
{{- define "access-service.migrationDatabaseSecret" -}}
{{- default .Values.database.existingSecret .Values.migration.database.existingSecret }}
{{- end }}
{{- define "access-service.migrationDatabaseKey" -}}
{{- if .Values.migration.database.existingSecret }}{{ .Values.migration.database.key }}{{ else }}{{ .Values.database.key }}{{ end }}
{{- end }}

{{/* Where the Redis TLS Secret is mounted. */}}
{{- define "access-service.redisTlsDir" -}}
/etc/access-service/redis-tls
{{- end }}

{{/* Where the Secret of the keys that sign Redis entries is mounted. */}}
{{- define "access-service.redisEntryKeysDir" -}}
/etc/access-service/redis-entry-keys
{{- end }}

{{/* Whether a Redis URL secret is configured. */}}
{{- define "access-service.hasRedis" -}}
{{- if .Values.redis.existingSecret }}true{{ end }}
{{- end }}

{{/* Whether listenHost is a loopback address (no API keys needed there). */}}
{{- define "access-service.loopback" -}}
{{- if or (hasPrefix "127." .Values.listenHost) (eq .Values.listenHost "[::1]") }}true{{ end }}
{{- end }}

{{/*
Refuses values the service cannot run correctly with. Replicas keep their
in-process caches coherent through Redis only: two replicas without it would
answer from stale entries after a write served by the other one.
*/}}
{{- define "access-service.validate" -}}
{{- if not (include "access-service.hasRedis" .) }}
{{- if gt (int .Values.replicaCount) 1 }}
{{- fail (printf "replicaCount is %d but redis.existingSecret is empty: more than one replica needs Redis (ACCESS_REDIS_URL) to keep the replicas' caches coherent" (int .Values.replicaCount)) }}
{{- end }}
{{- if .Values.autoscaling.enabled }}
{{- fail "autoscaling.enabled is true but redis.existingSecret is empty: more than one replica needs Redis (ACCESS_REDIS_URL) to keep the replicas' caches coherent" }}
{{- end }}
{{- end }}
{{- if and (not .Values.apiKeys.existingSecret) (not .Values.tls.clientIdentities) (not (include "access-service.loopback" .)) }}
{{- fail (printf "apiKeys.existingSecret is empty but the pods listen on %s, not a loopback address: access-service refuses to start there without API keys (or client certificate identities, tls.clientIdentities); create a Secret with one name:scopes:sha256hex line per key (see the README's Authentication section) and name it in apiKeys.existingSecret" .Values.listenHost) }}
{{- end }}
{{- if and .Values.tls.clientIdentities (not (and .Values.tls.existingSecret .Values.tls.clientCaKey)) }}
{{- fail "tls.clientIdentities needs tls.existingSecret and tls.clientCaKey: without a client CA no certificate is verified, so no identity could be trusted" }}
{{- end }}
{{- if and .Values.tls.existingSecret (eq (int .Values.tls.healthPort) (int .Values.containerPort)) }}
{{- fail "tls.healthPort must differ from containerPort: the probes' plaintext port is a second listener" }}
{{- end }}
{{- if and .Values.tls.existingSecret .Values.metrics.enabled (eq (int .Values.tls.healthPort) (int .Values.metrics.port)) }}
{{- fail "tls.healthPort must differ from metrics.port" }}
{{- end }}
{{- $shutdown := add (int .Values.config.shutdownGraceSecs) (int .Values.config.shutdownTimeoutSecs) 5 }}
{{- if and (not (kindIs "invalid" .Values.terminationGracePeriodSeconds)) (lt (int .Values.terminationGracePeriodSeconds) (int $shutdown)) }}
{{- fail (printf "terminationGracePeriodSeconds is %d but the shutdown sequence needs at least %d (config.shutdownGraceSecs + config.shutdownTimeoutSecs + 5): Kubernetes would kill the pod while it drains" (int .Values.terminationGracePeriodSeconds) (int $shutdown)) }}
{{- end }}
{{- if le (int64 .Values.config.outboxLeaseMs) (int64 .Values.config.smtpTimeoutMs) }}
{{- fail (printf "config.outboxLeaseMs (%d) must be greater than config.smtpTimeoutMs (%d): a lease shorter than an SMTP attempt lets a second pod send an email whose first attempt still runs" (int64 .Values.config.outboxLeaseMs) (int64 .Values.config.smtpTimeoutMs)) }}
{{- end }}
{{- if and .Values.autoscaling.enabled (gt (int .Values.autoscaling.minReplicas) (int .Values.autoscaling.maxReplicas)) }}
{{- fail "autoscaling.minReplicas is greater than autoscaling.maxReplicas" }}
{{- end }}
{{- include "access-service.validateEmail" . }}
{{- include "access-service.validateExtras" . }}
{{- end }}

{{/*
The options added around the service: Redis TLS files, the migration's own
credentials, extraEnv, the helm test.
*/}}
{{- define "access-service.validateExtras" -}}
{{- with .Values.redis.tls }}
{{- if and .existingSecret (not $.Values.redis.existingSecret) }}
{{- fail "redis.tls.existingSecret needs redis.existingSecret (a rediss:// ACCESS_REDIS_URL): without Redis the files would be ignored, and the service refuses them" }}
{{- end }}
{{- if and .existingSecret (ne (empty .certKey) (empty .keyKey)) }}
{{- fail "redis.tls.certKey and redis.tls.keyKey go together: set both (a client certificate and its key) or neither" }}
{{- end }}
{{- if and .existingSecret (not (or .caKey .certKey)) }}
{{- fail "redis.tls.existingSecret is set but caKey, certKey and keyKey are all empty: name the keys to mount, or unset existingSecret" }}
{{- end }}
{{- end }}
{{- if and .Values.redis.entryKeys.existingSecret (not .Values.redis.existingSecret) }}
{{- fail "redis.entryKeys.existingSecret needs redis.existingSecret: without Redis there are no entries to sign" }}
{{- end }}
{{- if and .Values.migration.database.existingSecret (not .Values.migration.enabled) }}
{{- fail "migration.database.existingSecret is set but migration.enabled is false: the pods then migrate at start-up with the runtime's credentials (database.existingSecret), which need DDL rights; turn the migration Job on or unset migration.database.existingSecret" }}
{{- end }}
{{- $reserved := list "ACCESS_LISTEN_ADDR" "ACCESS_AUTO_MIGRATE" "ACCESS_METRICS_ADDR" "ACCESS_DATABASE_URL" "ACCESS_REDIS_URL" "ACCESS_SMTP_URL" "ACCESS_API_KEYS_FILE" "ACCESS_REDIS_CA_FILE" "ACCESS_REDIS_CLIENT_CERT_FILE" "ACCESS_REDIS_CLIENT_KEY_FILE" "ACCESS_REDIS_ENTRY_KEYS_FILE" }}
{{- range .Values.extraEnv }}
{{- if has .name $reserved }}
{{- fail (printf "extraEnv sets %s, which the chart sets itself from its values: set it there (a name twice in env is ambiguous to kubectl apply)" .name) }}
{{- end }}
{{- end }}
{{- with .Values.tls }}
{{- if and $.Values.test.enabled .existingSecret .clientCaKey (eq .clientAuth "required") (not $.Values.test.tls.certKey) }}
{{- fail "the helm test cannot pass the TLS handshake: tls.clientAuth is required, so the test needs a client certificate; set test.tls.existingSecret, test.tls.certKey and test.tls.keyKey, or test.enabled: false" }}
{{- end }}
{{- end }}
{{- if ne (empty .Values.test.tls.certKey) (empty .Values.test.tls.keyKey) }}
{{- fail "test.tls.certKey and test.tls.keyKey go together" }}
{{- end }}
{{- end }}

{{/*
The emails, as the service judges them off loopback: they leave by a relay
with an https accept link (it carries the invitation's secret), unless the
install says it is a development one, which then has no relay; the limits'
windows fit in what the outbox keeps, and the resend cooldown in an
invitation's life.
*/}}
{{- define "access-service.validateEmail" -}}
{{- $dev := .Values.smtp.developmentWithoutRelay }}
{{- $loopback := include "access-service.loopback" . }}
{{- if and $dev .Values.smtp.existingSecret }}
{{- fail "smtp.developmentWithoutRelay is for an install without a relay, but smtp.existingSecret is set: unset one of the two" }}
{{- end }}
{{- if not (or .Values.smtp.existingSecret $dev $loopback) }}
{{- fail "smtp.existingSecret is empty: without an SMTP relay no email is sent, and access-service refuses to start off loopback; create a Secret holding ACCESS_SMTP_URL and name it in smtp.existingSecret, or set smtp.developmentWithoutRelay: true for a development install (emails are then only logged, without their tokens)" }}
{{- end }}
{{- if not .Values.config.inviteUrlBase }}
{{- fail "config.inviteUrlBase is empty: set the web app's invitation accept page (https://app.example.com/invitations/accept); the emailed link adds token=<secret> to it" }}
{{- end }}
{{- if not (or $dev $loopback (hasPrefix "https://" .Values.config.inviteUrlBase)) }}
{{- fail (printf "config.inviteUrlBase %q must be an https:// URL (the web app's accept page): the accept link carries the invitation's secret token" .Values.config.inviteUrlBase) }}
{{- end }}
{{- with .Values.config }}
{{- $retention := mul (int64 .outboxRetentionDays) 86400 }}
{{- range $name, $window := dict "emailLimitPerAccountWindowSecs" (list .emailLimitPerAccount .emailLimitPerAccountWindowSecs) "emailLimitPerActorWindowSecs" (list .emailLimitPerActor .emailLimitPerActorWindowSecs) "emailLimitPerRecipientWindowSecs" (list .emailLimitPerRecipient .emailLimitPerRecipientWindowSecs) }}
{{- if and (gt (int64 (index $window 0)) 0) (gt $retention 0) (gt (int64 (index $window 1)) $retention) }}
{{- fail (printf "config.%s (%d) must be at most config.outboxRetentionDays (%d s): the limit counts the emails the outbox keeps" $name (int64 (index $window 1)) $retention) }}
{{- end }}
{{- end }}
{{- if ge (int64 .invitationResendCooldownSecs) (int64 .invitationTtlSecs) }}
{{- fail (printf "config.invitationResendCooldownSecs (%d) must be shorter than config.invitationTtlSecs (%d): an expired invitation could not be sent again" (int64 .invitationResendCooldownSecs) (int64 .invitationTtlSecs)) }}
{{- end }}
{{- end }}
{{- end }}

{{/*
The secret variables, from Secrets the operator created: the database URL
always, the Redis URL, the SMTP relay URL and the API keys when configured.
*/}}
{{- define "access-service.secretEnv" -}}
- name: ACCESS_DATABASE_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.database.existingSecret }}
      key: {{ .Values.database.key }}
{{- if include "access-service.hasRedis" . }}
- name: ACCESS_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.existingSecret }}
      key: {{ .Values.redis.key }}
{{- with .Values.redis.tls }}
{{- if .existingSecret }}
{{- if .caKey }}
- name: ACCESS_REDIS_CA_FILE
  value: {{ printf "%s/%s" (include "access-service.redisTlsDir" $) .caKey | quote }}
{{- end }}
{{- if .certKey }}
- name: ACCESS_REDIS_CLIENT_CERT_FILE
  value: {{ printf "%s/%s" (include "access-service.redisTlsDir" $) .certKey | quote }}
- name: ACCESS_REDIS_CLIENT_KEY_FILE
  value: {{ printf "%s/%s" (include "access-service.redisTlsDir" $) .keyKey | quote }}
{{- end }}
{{- end }}
{{- end }}
{{- if .Values.redis.entryKeys.existingSecret }}
- name: ACCESS_REDIS_ENTRY_KEYS_FILE
  value: {{ printf "%s/keys" (include "access-service.redisEntryKeysDir" .) | quote }}
{{- end }}
{{- end }}
{{- if .Values.smtp.existingSecret }}
- name: ACCESS_SMTP_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.smtp.existingSecret }}
      key: {{ .Values.smtp.key }}
{{- end }}
{{- if .Values.apiKeys.existingSecret }}
# A file, not a variable: the service reads it again when the Secret changes.
- name: ACCESS_API_KEYS_FILE
  value: {{ printf "/etc/access-service/api-keys/%s" .Values.apiKeys.key | quote }}
{{- end }}
{{- end }}

{{/*
Seconds Kubernetes gives a pod between SIGTERM and SIGKILL: the value when
set (checked by access-service.validate), else the shutdown sequence's
grace and timeout plus 10 s to stop the email dispatcher (5 s at most), give
the cache lease back and flush telemetry.
*/}}
{{- define "access-service.terminationGracePeriodSeconds" -}}
{{- if kindIs "invalid" .Values.terminationGracePeriodSeconds }}
{{- add (int .Values.config.shutdownGraceSecs) (int .Values.config.shutdownTimeoutSecs) 10 }}
{{- else }}
{{- int .Values.terminationGracePeriodSeconds }}
{{- end }}
{{- end }}

{{/* Labels of the metrics Service, which the ServiceMonitor selects. */}}
{{- define "access-service.metricsSelectorLabels" -}}
{{ include "access-service.selectorLabels" . }}
app.kubernetes.io/component: metrics
{{- end }}

{{/*
The port the probes ask: the plaintext health-only one when TLS is on (the
kubelet's gRPC probe does not speak TLS), else the gRPC port.
*/}}
{{- define "access-service.probePort" -}}
{{- if .Values.tls.existingSecret }}{{ int .Values.tls.healthPort }}{{ else }}{{ int .Values.containerPort }}{{ end }}
{{- end }}

{{/*
Labels of the helm test's pod, which the NetworkPolicy lets in; not the
selector labels (the Service must not route to it).
*/}}
{{- define "access-service.testSelectorLabels" -}}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/component: test
{{- end }}
