package deploy_test

// These tests render the Helm chart with the helm binary that .ci/run
// installs (go install helm.sh/helm/v3/cmd/helm@v3.21.4) and check what an
// operator relies on: a non-root pod with a read-only root filesystem,
// probes on the connector's health endpoints, secrets only as mounted files
// or Secret references, an environment the connector's own configuration
// loader accepts, any number of replicas that share the work as one group
// (each with its pod name as instance ID), several accounts, and the
// optional Prometheus Operator resources only when asked for.

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/freshstream/freshchat-kafka/config"
)

const (
	chartDir       = "helm/freshchat-connector"
	securedValues  = "helm/examples/secured-values.yaml"
	accountsValues = "helm/examples/accounts-values.yaml"
	alertsFile     = "helm/freshchat-connector/files/alerts.yaml"
	projectAlerts  = "prometheus/alerts.yaml" // the project's rules, when present
	helmInstallCmd = "go install helm.sh/helm/v3/cmd/helm@v3.21.4"
	// The cluster version rendered for, as in .ci/run: a helm built by a
	// plain go install would otherwise assume Kubernetes 1.20.
	kubeVersion = "1.36.0"
)

var (
	helmOnce sync.Once
	helmBin  string
)

// helm returns the helm binary: $HELM, the one go install puts in
// $(go env GOPATH)/bin, or one on PATH. Without one the test is skipped, and
// fails under CI, which installs it.
func helm(t *testing.T) string {
	t.Helper()
	helmOnce.Do(func() {
		if p := os.Getenv("HELM"); p != "" {
			helmBin = p
			return
		}
		if out, err := exec.Command("go", "env", "GOPATH").Output(); err == nil {
			for _, dir := range filepath.SplitList(strings.TrimSpace(string(out))) {
				if p := filepath.Join(dir, "bin", "helm"); isExecutable(p) {
					helmBin = p
					return
				}
			}
		}
		if p, err := exec.LookPath("helm"); err == nil {
			helmBin = p
		}
	})
	if helmBin == "" {
		if os.Getenv("CI") != "" {
			t.Fatalf("helm not found (set HELM, or install it: %s)", helmInstallCmd)
		}
		t.Skipf("helm not found; install it with %s", helmInstallCmd)
	}
	return helmBin
}

func isExecutable(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0
}

// templateOut runs helm template for the chart with args and returns its
// output and error (with helm's message).
func templateOut(t *testing.T, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(helm(t), append([]string{"template", "rel", chartDir, "--namespace", "data", "--kube-version", kubeVersion}, args...)...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), errors.New(strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// manifest is one rendered object: its kind and name, and the whole
// document to decode further.
type manifest struct {
	Kind     string
	Name     string
	Labels   map[string]string
	document yaml.Node
}

func (m manifest) decode(t *testing.T, v any) {
	t.Helper()
	if err := m.document.Decode(v); err != nil {
		t.Fatalf("decoding %s %s: %v", m.Kind, m.Name, err)
	}
}

// render runs helm template and returns the objects by kind; every kind
// appears at most once.
func render(t *testing.T, args ...string) map[string]manifest {
	t.Helper()
	out, err := templateOut(t, args...)
	if err != nil {
		t.Fatalf("helm template %s: %v", strings.Join(args, " "), err)
	}
	objs := map[string]manifest{}
	dec := yaml.NewDecoder(strings.NewReader(out))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("helm template output is not YAML: %v", err)
		}
		var head struct {
			Kind     string `yaml:"kind"`
			Metadata struct {
				Name   string            `yaml:"name"`
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
		}
		if err := doc.Decode(&head); err != nil {
			t.Fatal(err)
		}
		if head.Kind == "" {
			continue // an empty document
		}
		if _, dup := objs[head.Kind]; dup {
			t.Fatalf("two objects of kind %s", head.Kind)
		}
		objs[head.Kind] = manifest{Kind: head.Kind, Name: head.Metadata.Name, Labels: head.Metadata.Labels, document: doc}
	}
	return objs
}

func kinds(objs map[string]manifest) []string {
	var ks []string
	for k := range objs {
		ks = append(ks, k)
	}
	slices.Sort(ks)
	return ks
}

type deployment struct {
	Spec struct {
		Replicas *int `yaml:"replicas"`
		Strategy struct {
			Type          string         `yaml:"type"`
			RollingUpdate map[string]any `yaml:"rollingUpdate"`
		} `yaml:"strategy"`
		Selector struct {
			MatchLabels map[string]string `yaml:"matchLabels"`
		} `yaml:"selector"`
		Template struct {
			Metadata struct {
				Labels map[string]string `yaml:"labels"`
			} `yaml:"metadata"`
			Spec podSpec `yaml:"spec"`
		} `yaml:"template"`
	} `yaml:"spec"`
}

type podSpec struct {
	AutomountServiceAccountToken *bool `yaml:"automountServiceAccountToken"`
	SecurityContext              struct {
		RunAsNonRoot *bool  `yaml:"runAsNonRoot"`
		RunAsUser    *int64 `yaml:"runAsUser"`
	} `yaml:"securityContext"`
	Containers []container `yaml:"containers"`
	Volumes    []struct {
		Name     string    `yaml:"name"`
		EmptyDir *struct{} `yaml:"emptyDir"`
		Secret   *struct {
			SecretName string `yaml:"secretName"`
			Items      []struct {
				Key  string `yaml:"key"`
				Path string `yaml:"path"`
			} `yaml:"items"`
		} `yaml:"secret"`
	} `yaml:"volumes"`
}

type container struct {
	Name  string   `yaml:"name"`
	Image string   `yaml:"image"`
	Args  []string `yaml:"args"`
	Env   []struct {
		Name      string         `yaml:"name"`
		Value     *string        `yaml:"value"`
		ValueFrom map[string]any `yaml:"valueFrom"`
	} `yaml:"env"`
	Ports []struct {
		Name          string `yaml:"name"`
		ContainerPort int    `yaml:"containerPort"`
	} `yaml:"ports"`
	LivenessProbe  *probe `yaml:"livenessProbe"`
	ReadinessProbe *probe `yaml:"readinessProbe"`
	Resources      struct {
		Requests map[string]string `yaml:"requests"`
		Limits   map[string]string `yaml:"limits"`
	} `yaml:"resources"`
	SecurityContext struct {
		ReadOnlyRootFilesystem   *bool `yaml:"readOnlyRootFilesystem"`
		RunAsNonRoot             *bool `yaml:"runAsNonRoot"`
		AllowPrivilegeEscalation *bool `yaml:"allowPrivilegeEscalation"`
		Capabilities             struct {
			Drop []string `yaml:"drop"`
		} `yaml:"capabilities"`
	} `yaml:"securityContext"`
	VolumeMounts []struct {
		Name      string `yaml:"name"`
		MountPath string `yaml:"mountPath"`
		ReadOnly  bool   `yaml:"readOnly"`
	} `yaml:"volumeMounts"`
}

type probe struct {
	HTTPGet *struct {
		Path string `yaml:"path"`
		Port any    `yaml:"port"`
	} `yaml:"httpGet"`
}

// env returns the container's plain-value variables.
func (c container) env() map[string]string {
	m := map[string]string{}
	for _, e := range c.Env {
		if e.Value != nil {
			m[e.Name] = *e.Value
		}
	}
	return m
}

// valueFrom is where a variable without a plain value comes from: the
// Secret and key of a secretKeyRef ("secret/key"), or the field of a
// fieldRef ("field:metadata.name"); "" for anything else.
func (c container) valueFrom(name string) string {
	for _, e := range c.Env {
		if e.Name != name || e.ValueFrom == nil {
			continue
		}
		if ref, ok := e.ValueFrom["secretKeyRef"].(map[string]any); ok {
			return fmt.Sprintf("%v/%v", ref["name"], ref["key"])
		}
		if ref, ok := e.ValueFrom["fieldRef"].(map[string]any); ok {
			return fmt.Sprintf("field:%v", ref["fieldPath"])
		}
	}
	return ""
}

// accountVars matches the environment form of every key of an account,
// FRESHCHAT_ACCOUNT_<NAME>_<KEY>, as config.AccountReference declares them.
var accountVars = func() *regexp.Regexp {
	var alts []string
	for _, s := range config.AccountReference() {
		if s.Env != config.AccountsEnv {
			alts = append(alts, strings.ReplaceAll(regexp.QuoteMeta(s.Env), "<NAME>", "[A-Z0-9_]+"))
		}
	}
	return regexp.MustCompile("^(" + strings.Join(alts, "|") + ")$")
}()

// secretName is the chart's pattern of variables that hold secrets
// (freshchat-connector.secretNamePattern).
var secretName = regexp.MustCompile(`_(PASSWORD|TOKEN|SECRET|SECRET_ACCESS_KEY|PRIVATE_KEY|CREDENTIALS)$`)

// isSetting tells whether name is a variable the connector reads: a
// setting's, FRESHCHAT_ACCOUNTS or an account key's.
func isSetting(byEnv map[string]config.Setting, name string) bool {
	_, ok := byEnv[name]
	return ok || name == config.AccountsEnv || accountVars.MatchString(name)
}

// settings returns the connector's settings by environment variable, and
// the variables of secrets: those that also have a _FILE form.
func settings() (byEnv map[string]config.Setting, secrets []string) {
	byEnv = map[string]config.Setting{}
	for _, s := range config.Reference() {
		byEnv[s.Env] = s
	}
	for env := range byEnv {
		if _, ok := byEnv[env+"_FILE"]; ok {
			secrets = append(secrets, env)
		}
	}
	slices.Sort(secrets)
	return byEnv, secrets
}

func isTrue(b *bool) bool { return b != nil && *b }

// show prints what p points to, or "unset".
func show[T any](p *T) string {
	if p == nil {
		return "unset"
	}
	return fmt.Sprint(*p)
}

// checkPod asserts what every rendering of the chart must hold, and returns
// the connector's container.
func checkPod(t *testing.T, objs map[string]manifest) container {
	t.Helper()
	var d deployment
	objs["Deployment"].decode(t, &d)
	spec := d.Spec.Template.Spec

	if d.Spec.Replicas == nil || *d.Spec.Replicas < 0 {
		t.Errorf("replicas = %s, want 0 or more", show(d.Spec.Replicas))
	}
	if st := d.Spec.Strategy; st.Type != "RollingUpdate" || st.RollingUpdate["maxSurge"] != 0 || st.RollingUpdate["maxUnavailable"] != 1 {
		t.Errorf("strategy = %s %v, want RollingUpdate with maxSurge 0 and maxUnavailable 1 (one pod at a time, never an extra one)",
			st.Type, st.RollingUpdate)
	}
	if !isTrue(spec.SecurityContext.RunAsNonRoot) || spec.SecurityContext.RunAsUser == nil || *spec.SecurityContext.RunAsUser == 0 {
		t.Errorf("pod securityContext: runAsNonRoot %s, runAsUser %s; want true and a non-root uid",
			show(spec.SecurityContext.RunAsNonRoot), show(spec.SecurityContext.RunAsUser))
	}
	if spec.AutomountServiceAccountToken == nil || *spec.AutomountServiceAccountToken {
		t.Error("automountServiceAccountToken is not false: the connector never calls the Kubernetes API")
	}
	if len(spec.Containers) != 1 {
		t.Fatalf("%d containers, want 1", len(spec.Containers))
	}
	c := spec.Containers[0]

	sc := c.SecurityContext
	if !isTrue(sc.ReadOnlyRootFilesystem) || !isTrue(sc.RunAsNonRoot) || sc.AllowPrivilegeEscalation == nil || *sc.AllowPrivilegeEscalation ||
		!slices.Contains(sc.Capabilities.Drop, "ALL") {
		t.Errorf("container securityContext: readOnlyRootFilesystem %s, runAsNonRoot %s, allowPrivilegeEscalation %s, drop %v; want true, true, false, [ALL]",
			show(sc.ReadOnlyRootFilesystem), show(sc.RunAsNonRoot), show(sc.AllowPrivilegeEscalation), sc.Capabilities.Drop)
	}

	volumes := map[string]int{}
	for i, v := range spec.Volumes {
		volumes[v.Name] = i
	}
	tmpOK := false
	for _, m := range c.VolumeMounts {
		if i, ok := volumes[m.Name]; ok && m.MountPath == "/tmp" && spec.Volumes[i].EmptyDir != nil {
			tmpOK = true
		}
	}
	if !tmpOK {
		t.Error("no emptyDir mounted at /tmp: with a read-only root the reports have nowhere to spool")
	}

	// Probes on the metrics port, which is the port of METRICS_ADDR.
	metricsPort := 0
	for _, p := range c.Ports {
		if p.Name == "metrics" {
			metricsPort = p.ContainerPort
		}
	}
	_, port, err := net.SplitHostPort(c.env()["METRICS_ADDR"])
	if err != nil || metricsPort == 0 || port != strconv.Itoa(metricsPort) {
		t.Errorf("METRICS_ADDR %q and container port metrics %d do not agree", c.env()["METRICS_ADDR"], metricsPort)
	}
	for _, p := range []struct {
		name, path string
		probe      *probe
	}{{"liveness", "/healthz", c.LivenessProbe}, {"readiness", "/readyz", c.ReadinessProbe}} {
		if p.probe == nil || p.probe.HTTPGet == nil {
			t.Errorf("%s probe: want GET %s on port metrics, got none", p.name, p.path)
		} else if get := p.probe.HTTPGet; get.Path != p.path || get.Port != "metrics" {
			t.Errorf("%s probe: want GET %s on port metrics, got GET %s on port %v", p.name, p.path, get.Path, get.Port)
		}
	}

	for _, kind := range []string{"cpu", "memory"} {
		if c.Resources.Requests[kind] == "" || c.Resources.Limits[kind] == "" {
			t.Errorf("resources: no %s request or limit: %+v", kind, c.Resources)
		}
	}

	// Static group membership: each pod's instance ID is its name.
	if got := c.valueFrom("GROUP_INSTANCE_ID"); got != "field:metadata.name" {
		t.Errorf("GROUP_INSTANCE_ID comes from %q, want the pod's name (fieldRef metadata.name): each instance needs its own", got)
	}

	// Every variable is a setting of the connector; no secret is a value:
	// each secret arrives as a *_FILE path into a mounted Secret's item,
	// or (an account's token) from a secretKeyRef.
	byEnv, secrets := settings()
	for _, e := range c.Env {
		if !isSetting(byEnv, e.Name) {
			t.Errorf("env %s is not a setting of the connector", e.Name)
		}
		if slices.Contains(secrets, e.Name) {
			t.Errorf("env %s holds a secret in the pod spec; the chart must mount it and set %s_FILE", e.Name, e.Name)
		}
		if secretName.MatchString(e.Name) && (e.Value != nil || !strings.Contains(c.valueFrom(e.Name), "/")) {
			t.Errorf("env %s holds a secret: it must come from a secretKeyRef, not %s", e.Name, show(e.Value))
		}
		if !strings.HasSuffix(e.Name, "_FILE") {
			continue
		}
		if e.Value == nil || !secretFile(spec, c, *e.Value) {
			t.Errorf("env %s = %s is not a file of a mounted Secret", e.Name, show(e.Value))
		}
	}

	// The Service, the PodDisruptionBudget (and the ServiceMonitor) select
	// the pods.
	pod := d.Spec.Template.Metadata.Labels
	if !matches(d.Spec.Selector.MatchLabels, pod) {
		t.Errorf("the Deployment's selector %v does not select its pods %v", d.Spec.Selector.MatchLabels, pod)
	}
	var pdb struct {
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
		} `yaml:"spec"`
	}
	objs["PodDisruptionBudget"].decode(t, &pdb)
	if !matches(pdb.Spec.Selector.MatchLabels, pod) {
		t.Errorf("the PodDisruptionBudget selects %v, not the pods %v", pdb.Spec.Selector.MatchLabels, pod)
	}
	var svc struct {
		Spec struct {
			Selector map[string]string `yaml:"selector"`
			Ports    []struct {
				Name       string `yaml:"name"`
				TargetPort any    `yaml:"targetPort"`
			} `yaml:"ports"`
		} `yaml:"spec"`
	}
	objs["Service"].decode(t, &svc)
	if !matches(svc.Spec.Selector, pod) || len(svc.Spec.Ports) != 1 || svc.Spec.Ports[0].Name != "metrics" || svc.Spec.Ports[0].TargetPort != "metrics" {
		t.Errorf("the Service does not expose the pods' metrics port: %+v", svc.Spec)
	}
	return c
}

// matches tells whether selector selects an object with labels.
func matches(selector, labels map[string]string) bool {
	if len(selector) == 0 {
		return false
	}
	for k, v := range selector {
		if labels[k] != v {
			return false
		}
	}
	return true
}

// secretFile tells whether path is an item of a Secret volume mounted in c.
func secretFile(spec podSpec, c container, path string) bool {
	for _, m := range c.VolumeMounts {
		rel, ok := strings.CutPrefix(path, m.MountPath+"/")
		if !ok || !m.ReadOnly {
			continue
		}
		for _, v := range spec.Volumes {
			if v.Name != m.Name || v.Secret == nil {
				continue
			}
			for _, it := range v.Secret.Items {
				if it.Path == rel {
					return true
				}
			}
		}
	}
	return false
}

// mountedSecrets returns, by *_FILE variable, the Secret and key it reads.
func mountedSecrets(t *testing.T, objs map[string]manifest) map[string]string {
	t.Helper()
	var d deployment
	objs["Deployment"].decode(t, &d)
	spec := d.Spec.Template.Spec
	c := spec.Containers[0]
	out := map[string]string{}
	for name, path := range c.env() {
		if !strings.HasSuffix(name, "_FILE") {
			continue
		}
		for _, m := range c.VolumeMounts {
			rel, ok := strings.CutPrefix(path, m.MountPath+"/")
			if !ok {
				continue
			}
			for _, v := range spec.Volumes {
				if v.Name == m.Name && v.Secret != nil {
					for _, it := range v.Secret.Items {
						if it.Path == rel {
							out[name] = v.Secret.SecretName + "/" + it.Key
						}
					}
				}
			}
		}
	}
	return out
}

func TestChartDefaults(t *testing.T) {
	objs := render(t)
	if got, want := kinds(objs), []string{"Deployment", "PodDisruptionBudget", "Service", "ServiceAccount"}; !slices.Equal(got, want) {
		t.Fatalf("kinds = %v, want %v (no Secret: the chart never holds one; no Prometheus Operator objects unless enabled)", got, want)
	}
	c := checkPod(t, objs)
	var d deployment
	objs["Deployment"].decode(t, &d)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 1 {
		t.Errorf("replicas = %s, want 1 by default", show(d.Spec.Replicas))
	}

	var chart struct {
		AppVersion string `yaml:"appVersion"`
	}
	readYAML(t, filepath.Join(chartDir, "Chart.yaml"), &chart)
	if want := "ghcr.io/freshstream/freshchat-kafka:" + chart.AppVersion; chart.AppVersion == "" || c.Image != want {
		t.Errorf("image = %q, want %q (the tag defaults to the chart's appVersion)", c.Image, want)
	}
	if !slices.Equal(c.Args, []string{"run"}) {
		t.Errorf("args = %q, want [run]", c.Args)
	}
	if got, want := mountedSecrets(t, objs), map[string]string{"FRESHCHAT_API_TOKEN_FILE": "freshchat-api-token/token"}; !reflect.DeepEqual(got, want) {
		t.Errorf("secret files = %v, want %v", got, want)
	}

	var pdb struct {
		Spec map[string]any `yaml:"spec"`
	}
	objs["PodDisruptionBudget"].decode(t, &pdb)
	if pdb.Spec["maxUnavailable"] != 1 || pdb.Spec["minAvailable"] != nil {
		t.Errorf("PodDisruptionBudget spec = %v; want maxUnavailable 1 (minAvailable 1 would block every node drain)", pdb.Spec)
	}

	// Without an API URL and brokers the connector refuses to start and
	// names both, as NOTES.txt tells the operator.
	_, err := loadConfig(t, c)
	for _, want := range []string{"FRESHCHAT_API_URL", "KAFKA_BROKERS"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("the default values' configuration error %v does not name %s", err, want)
		}
	}
}

// The environment the chart gives the connector is one it accepts.
func TestChartConfigurationLoads(t *testing.T) {
	t.Run("minimal", func(t *testing.T) {
		objs := render(t, "--set", "freshchat.apiUrl=https://acme.freshchat.com/v2", "--set", "kafka.brokers={k1:9092,k2:9092}")
		cfg, err := loadConfig(t, checkPod(t, objs))
		if err != nil {
			t.Fatal(err)
		}
		if got := cfg.Kafka.Brokers; !slices.Equal(got, []string{"k1:9092", "k2:9092"}) {
			t.Errorf("brokers = %v", got)
		}
		if cfg.Freshchat.APIToken.Reveal() != "secret-of-FRESHCHAT_API_TOKEN_FILE" || cfg.Log.Format != config.LogJSON {
			t.Errorf("token from the file %q, log format %q", cfg.Freshchat.APIToken.Reveal(), cfg.Log.Format)
		}
	})
	t.Run("secured example", func(t *testing.T) {
		objs := render(t, "-f", securedValues)
		c := checkPod(t, objs)
		want := map[string]string{
			"FRESHCHAT_API_TOKEN_FILE":      "freshchat-api-token/token",
			"KAFKA_SASL_PASSWORD_FILE":      "freshchat-kafka-user/password",
			"KAFKA_TLS_CA_FILE":             "events-cluster-ca-cert/ca.crt",
			"SCHEMA_REGISTRY_PASSWORD_FILE": "freshchat-schema-registry/password",
		}
		if got := mountedSecrets(t, objs); !reflect.DeepEqual(got, want) {
			t.Errorf("secret files = %v, want %v", got, want)
		}
		cfg, err := loadConfig(t, c)
		if err != nil {
			t.Fatal(err)
		}
		if !cfg.Kafka.TLS.Enabled || cfg.Kafka.SASL.Mechanism != config.SASLScramSHA512 || cfg.Kafka.SASL.Username == "" ||
			cfg.Kafka.SASL.Password.Reveal() != "secret-of-KAFKA_SASL_PASSWORD_FILE" ||
			cfg.SchemaRegistry.URL == nil || cfg.SchemaRegistry.Username == "" ||
			cfg.SchemaRegistry.Password.Reveal() != "secret-of-SCHEMA_REGISTRY_PASSWORD_FILE" {
			t.Errorf("the secured example does not give SCRAM over TLS and registry basic auth: kafka %+v, registry %+v", cfg.Kafka, cfg.SchemaRegistry)
		}
		for _, kind := range []string{"ServiceMonitor", "PrometheusRule"} {
			if _, ok := objs[kind]; !ok {
				t.Errorf("the secured example renders no %s", kind)
			}
		}
	})
	t.Run("mutual TLS", func(t *testing.T) {
		objs := render(t, "-f", securedValues,
			"--set", "kafka.tls.clientCert.existingSecret=kafka-client",
			"--set", "schemaRegistry.tls.ca.existingSecret=registry-ca",
			"--set", "schemaRegistry.tls.clientCert.existingSecret=registry-client",
			"--set", "schemaRegistry.tls.clientCert.certKey=user.crt",
			"--set", "schemaRegistry.tls.clientCert.keyKey=user.key")
		c := checkPod(t, objs)
		got := mountedSecrets(t, objs)
		for name, ref := range map[string]string{
			"KAFKA_TLS_CERT_FILE":           "kafka-client/tls.crt",
			"KAFKA_TLS_KEY_FILE":            "kafka-client/tls.key",
			"SCHEMA_REGISTRY_TLS_CA_FILE":   "registry-ca/ca.crt",
			"SCHEMA_REGISTRY_TLS_CERT_FILE": "registry-client/user.crt",
			"SCHEMA_REGISTRY_TLS_KEY_FILE":  "registry-client/user.key",
		} {
			if got[name] != ref {
				t.Errorf("%s reads %q, want %q", name, got[name], ref)
			}
		}
		cfg, err := loadConfig(t, c)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.Kafka.TLS.CertFile == "" || cfg.SchemaRegistry.TLS.KeyFile == "" {
			t.Errorf("client certificates not configured: kafka %+v, registry %+v", cfg.Kafka.TLS, cfg.SchemaRegistry.TLS)
		}
	})
}

// loadConfig runs the connector's configuration loader on the container's
// environment, with each *_FILE path laid out under a temporary directory:
// PEM files for certificates and keys, a line of text for the others. A
// variable from a secretKeyRef reads "secret-of-<secret>/<key>", one from
// a fieldRef "field-<path>".
func loadConfig(t *testing.T, c container) (*config.Config, error) {
	t.Helper()
	root := t.TempDir()
	env := c.env()
	for _, e := range c.Env {
		if from := c.valueFrom(e.Name); e.Value == nil && from != "" {
			if field, ok := strings.CutPrefix(from, "field:"); ok {
				env[e.Name] = "field-" + field
			} else {
				env[e.Name] = "secret-of-" + from
			}
		}
	}
	certPEM, keyPEM := selfSigned(t)
	for name, path := range env {
		if !strings.HasSuffix(name, "_FILE") {
			continue
		}
		content := []byte("secret-of-" + name + "\n")
		switch {
		case strings.HasSuffix(name, "_KEY_FILE"):
			content = keyPEM
		case strings.HasSuffix(name, "_CA_FILE"), strings.HasSuffix(name, "_CERT_FILE"):
			content = certPEM
		}
		local := filepath.Join(root, filepath.FromSlash(path))
		if err := os.MkdirAll(filepath.Dir(local), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(local, content, 0o600); err != nil {
			t.Fatal(err)
		}
		env[name] = local
	}
	environ := make([]string, 0, len(env))
	for k, v := range env {
		environ = append(environ, k+"="+v)
	}
	return config.Load(config.LoadOptions{
		Env:            func(k string) (string, bool) { v, ok := env[k]; return v, ok },
		Environ:        func() []string { return environ },
		Hostname:       func() (string, error) { return "helm-test", nil },
		RequireAPI:     true,
		RequireBrokers: true,
	})
}

func selfSigned(t *testing.T) (certPEM, keyPEM []byte) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "helm-test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
		IsCA:         true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8})
}

// The chart refuses values that would put a secret in the pod spec, or run
// two connectors that fence each other.
func TestChartRefuses(t *testing.T) {
	_, secrets := settings()
	if len(secrets) < 3 {
		t.Fatalf("found only the secret settings %v; the chart must handle each", secrets)
	}
	type refusal struct {
		args []string
		want string // in helm's message
	}
	cases := map[string]refusal{
		"replicaCount=-1":                 {[]string{"--set", "replicaCount=-1"}, "replicaCount"},
		"env.GROUP_INSTANCE_ID":           {[]string{"--set", "env.GROUP_INSTANCE_ID=x"}, "env.GROUP_INSTANCE_ID: set nothing: the chart sets it to the pod's name"},
		"env.FRESHCHAT_ACCOUNTS":          {[]string{"--set", "env.FRESHCHAT_ACCOUNTS=acme"}, "env.FRESHCHAT_ACCOUNTS: set accounts instead"},
		"an account variable in env":      {[]string{"--set", "env.FRESHCHAT_ACCOUNT_ACME_START=-1d"}, "env.FRESHCHAT_ACCOUNT_ACME_START: set accounts instead"},
		"an account variable in extraEnv": {[]string{"--set", "extraEnv[0].name=FRESHCHAT_ACCOUNT_ACME_API_URL", "--set", "extraEnv[0].value=x"}, "extraEnv FRESHCHAT_ACCOUNT_ACME_API_URL: set accounts instead"},
		"an account without a token":      {[]string{"--set", "accounts[0].name=acme", "--set", "accounts[0].apiUrl=https://acme.freshchat.com/v2"}, "apiToken"},
		"an account without an API URL":   {[]string{"--set", "accounts[0].name=acme", "--set", "accounts[0].apiToken.existingSecret=s"}, "apiUrl"},
		"an account name in upper case":   {[]string{"-f", accountsValues, "--set", "accounts[0].name=Acme"}, "/accounts/0/name"},
		"two accounts with one variable name": {[]string{"-f", accountsValues, "--set", "accounts[0].name=acme-eu", "--set", "accounts[1].name=acme_eu"},
			`accounts[1].name "acme_eu": another account has the variables FRESHCHAT_ACCOUNT_ACME_EU_*`},
		"accounts and freshchat.apiUrl":    {[]string{"-f", accountsValues, "--set", "freshchat.apiUrl=https://acme.freshchat.com/v2"}, "freshchat.apiUrl: with accounts"},
		"a misspelt account key":           {[]string{"-f", accountsValues, "--set", "accounts[0].apiURL=x"}, "'apiURL' not allowed"},
		"SASL without a password":          {[]string{"--set", "kafka.sasl.mechanism=SCRAM-SHA-512", "--set", "kafka.sasl.username=u"}, "kafka.sasl.password.existingSecret"},
		"registry user without password":   {[]string{"--set", "schemaRegistry.url=https://r", "--set", "schemaRegistry.username=u"}, "schemaRegistry.password.existingSecret"},
		"a future secret setting as value": {[]string{"--set", "env.KAFKA_SASL_OAUTH_TOKEN=x"}, "env.KAFKA_SASL_OAUTH_TOKEN: secrets are never values"},
		"a secret in extraEnv as value":    {[]string{"--set", "extraEnv[0].name=AWS_SECRET_ACCESS_KEY", "--set", "extraEnv[0].value=x"}, "extraEnv AWS_SECRET_ACCESS_KEY"},
		"no token Secret":                  {[]string{"--set", "freshchat.apiToken.existingSecret="}, "freshchat.apiToken.existingSecret"},
		"a misspelt key":                   {[]string{"--set", "freshchat.apiURL=https://acme.freshchat.com/v2"}, "'apiURL' not allowed"},
	}
	// The chart mounts these secrets itself, so their _FILE variables are
	// its own; any other secret (an OAuth token, say) is mounted through
	// extraVolumes with its _FILE variable set in env, as the chart's
	// message says, but never given as a plain value.
	managed := []string{"FRESHCHAT_API_TOKEN", "KAFKA_SASL_PASSWORD", "SCHEMA_REGISTRY_PASSWORD"}
	for _, s := range secrets {
		cases["env."+s] = refusal{[]string{"--set", "env." + s + "=x"}, "env." + s + ":"}
		if slices.Contains(managed, s) {
			cases["env."+s+"_FILE"] = refusal{[]string{"--set", "env." + s + "_FILE=/x"}, "env." + s + "_FILE:"}
		}
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			out, err := templateOut(t, c.args...)
			if err == nil {
				t.Fatalf("helm template %s rendered:\n%s", strings.Join(c.args, " "), out)
			}
			if !strings.Contains(err.Error(), c.want) {
				t.Errorf("helm template %s failed with %q, want a message with %q", strings.Join(c.args, " "), err, c.want)
			}
		})
	}
}

// Any number of replicas share the work: each pod has its own instance ID
// (checkPod), and with more than one a PodDisruptionBudget lets a drain
// take one pod at a time, whose units the others take over.
func TestChartReplicas(t *testing.T) {
	for _, n := range []int{0, 3} {
		t.Run(fmt.Sprintf("replicaCount=%d", n), func(t *testing.T) {
			objs := render(t, "--set", fmt.Sprintf("replicaCount=%d", n))
			checkPod(t, objs)
			var d deployment
			objs["Deployment"].decode(t, &d)
			if d.Spec.Replicas == nil || *d.Spec.Replicas != n {
				t.Errorf("replicas = %s, want %d", show(d.Spec.Replicas), n)
			}
			var pdb struct {
				Spec map[string]any `yaml:"spec"`
			}
			objs["PodDisruptionBudget"].decode(t, &pdb)
			if pdb.Spec["maxUnavailable"] != 1 || pdb.Spec["minAvailable"] != nil {
				t.Errorf("PodDisruptionBudget spec = %v, want maxUnavailable 1", pdb.Spec)
			}
		})
	}
}

// Several accounts: each account's settings in FRESHCHAT_ACCOUNT_<NAME>_*,
// its token from its own Secret, and neither the single account's URL nor
// its token file.
func TestChartAccounts(t *testing.T) {
	objs := render(t, "-f", accountsValues)
	c := checkPod(t, objs)
	env := c.env()
	want := map[string]string{
		"FRESHCHAT_ACCOUNTS":                           "acme,globex",
		"FRESHCHAT_ACCOUNT_ACME_API_URL":               "https://acme.freshchat.com/v2",
		"FRESHCHAT_ACCOUNT_ACME_EVENTS":                "Message-Sent,CSAT-Score",
		"FRESHCHAT_ACCOUNT_ACME_START":                 "-90d",
		"FRESHCHAT_ACCOUNT_ACME_REQUESTS_PER_MINUTE":   "60",
		"FRESHCHAT_ACCOUNT_GLOBEX_API_URL":             "https://api.eu.freshchat.com/v2",
		"FRESHCHAT_ACCOUNT_GLOBEX_EVENTS":              "Message-Sent,CSAT-Score",
		"FRESHCHAT_ACCOUNT_GLOBEX_TOPIC_TEMPLATE":      "globex.freshchat.{event}",
		"FRESHCHAT_ACCOUNT_GLOBEX_REQUESTS_PER_MINUTE": "120",
		"FRESHCHAT_ACCOUNT_GLOBEX_REQUESTS_PER_DAY":    "100000",
	}
	got := map[string]string{}
	for name, v := range env {
		if strings.HasPrefix(name, "FRESHCHAT_ACCOUNT") {
			got[name] = v
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("account variables = %v, want %v", got, want)
	}
	for name, ref := range map[string]string{
		"FRESHCHAT_ACCOUNT_ACME_API_TOKEN":   "freshchat-acme/token",
		"FRESHCHAT_ACCOUNT_GLOBEX_API_TOKEN": "freshchat-globex/token",
	} {
		if from := c.valueFrom(name); from != ref {
			t.Errorf("%s comes from %q, want the Secret key %s", name, from, ref)
		}
	}
	for _, name := range []string{"FRESHCHAT_API_URL", "FRESHCHAT_API_TOKEN_FILE"} {
		if v, ok := env[name]; ok {
			t.Errorf("%s = %q: with accounts the single account's settings are not used", name, v)
		}
	}
	if got := mountedSecrets(t, objs); len(got) != 0 {
		t.Errorf("secret files = %v, want none (the accounts' tokens come from secretKeyRef)", got)
	}
	var d deployment
	objs["Deployment"].decode(t, &d)
	if d.Spec.Replicas == nil || *d.Spec.Replicas != 3 {
		t.Errorf("replicas = %s, want the example's 3", show(d.Spec.Replicas))
	}

	// The connector reads the accounts the example describes.
	cfg, err := loadConfig(t, c)
	if err != nil {
		t.Fatalf("the connector refuses the accounts example's environment: %v", err)
	}
	type account struct {
		name, url, token, topic string
		events                  []string
		perMinute, perDay       int
	}
	var accts []account
	for _, a := range cfg.Accounts {
		accts = append(accts, account{a.Name, a.APIURL.String(), a.APIToken.Reveal(), a.Topic("Message-Sent"), a.Events, a.RequestsPerMinute, a.RequestsPerDay})
	}
	wantAccts := []account{
		{"acme", "https://acme.freshchat.com/v2", "secret-of-freshchat-acme/token", "freshchat.acme.message-sent", []string{"Message-Sent", "CSAT-Score"}, 60, 0},
		{"globex", "https://api.eu.freshchat.com/v2", "secret-of-freshchat-globex/token", "globex.freshchat.message-sent", []string{"Message-Sent", "CSAT-Score"}, 120, 100000},
	}
	if !reflect.DeepEqual(accts, wantAccts) {
		t.Errorf("accounts = %+v\nwant %+v", accts, wantAccts)
	}
	if cfg.Group.InstanceID != "field-metadata.name" {
		t.Errorf("group.instance_id = %q, want the pod's name (here its fieldRef)", cfg.Group.InstanceID)
	}
}

func TestChartMonitoringIsOptional(t *testing.T) {
	objs := render(t, "--set", "serviceMonitor.enabled=true", "--set", "prometheusRule.enabled=true")
	c := checkPod(t, objs)

	var values struct {
		ServiceMonitor struct {
			JobName string `yaml:"jobName"`
		} `yaml:"serviceMonitor"`
	}
	readYAML(t, filepath.Join(chartDir, "values.yaml"), &values)
	var sm struct {
		Spec struct {
			Selector struct {
				MatchLabels map[string]string `yaml:"matchLabels"`
			} `yaml:"selector"`
			Endpoints []struct {
				Port        string `yaml:"port"`
				Path        string `yaml:"path"`
				Relabelings []struct {
					TargetLabel string `yaml:"targetLabel"`
					Replacement string `yaml:"replacement"`
				} `yaml:"relabelings"`
			} `yaml:"endpoints"`
		} `yaml:"spec"`
	}
	objs["ServiceMonitor"].decode(t, &sm)
	if !matches(sm.Spec.Selector.MatchLabels, objs["Service"].Labels) {
		t.Errorf("the ServiceMonitor selects %v, not the Service %v", sm.Spec.Selector.MatchLabels, objs["Service"].Labels)
	}
	if len(sm.Spec.Endpoints) != 1 || sm.Spec.Endpoints[0].Port != "metrics" || sm.Spec.Endpoints[0].Path != "/metrics" {
		t.Fatalf("ServiceMonitor endpoints = %+v, want /metrics on port metrics", sm.Spec.Endpoints)
	}
	job := ""
	for _, r := range sm.Spec.Endpoints[0].Relabelings {
		if r.TargetLabel == "job" {
			job = r.Replacement
		}
	}
	if job == "" || job != values.ServiceMonitor.JobName {
		t.Errorf("the ServiceMonitor sets job %q, want serviceMonitor.jobName %q", job, values.ServiceMonitor.JobName)
	}

	// The PrometheusRule carries files/alerts.yaml, whose selectors match
	// what the chart deploys.
	var rule struct {
		Spec struct {
			Groups []any `yaml:"groups"`
		} `yaml:"spec"`
	}
	objs["PrometheusRule"].decode(t, &rule)
	var file struct {
		Groups []any `yaml:"groups"`
	}
	readYAML(t, alertsFile, &file)
	if len(file.Groups) == 0 || !reflect.DeepEqual(rule.Spec.Groups, file.Groups) {
		t.Errorf("the PrometheusRule's groups are not those of %s:\n%v\n%v", alertsFile, rule.Spec.Groups, file.Groups)
	}
	var rules struct {
		Groups []struct {
			Rules []struct {
				Alert string `yaml:"alert"`
				Expr  string `yaml:"expr"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, alertsFile, &rules)
	selector := regexp.MustCompile(`\b(job|container)="([^"]*)"`)
	for _, g := range rules.Groups {
		for _, r := range g.Rules {
			for _, m := range selector.FindAllStringSubmatch(r.Expr, -1) {
				want := job
				if m[1] == "container" {
					want = c.Name
				}
				if m[2] != want {
					t.Errorf("alert %s selects %s=%q; the chart gives %q", r.Alert, m[1], m[2], want)
				}
			}
		}
	}

	// Groups from the values replace the file's.
	custom := render(t, "--set", "prometheusRule.enabled=true",
		"--set-json", `prometheusRule.groups=[{"name":"mine","rules":[{"alert":"A","expr":"vector(1)"}]}]`)
	var mine struct {
		Spec struct {
			Groups []struct {
				Name string `yaml:"name"`
			} `yaml:"groups"`
		} `yaml:"spec"`
	}
	custom["PrometheusRule"].decode(t, &mine)
	if len(mine.Spec.Groups) != 1 || mine.Spec.Groups[0].Name != "mine" {
		t.Errorf("prometheusRule.groups not used: %+v", mine.Spec.Groups)
	}
}

// Where the project's rule file exists, the chart's copy says the same.
func TestChartAlertsMatchProjectRules(t *testing.T) {
	if _, err := os.Stat(projectAlerts); errors.Is(err, os.ErrNotExist) {
		t.Logf("%s does not exist; nothing to compare", projectAlerts)
		return
	}
	var project, chart map[string]any
	readYAML(t, projectAlerts, &project)
	readYAML(t, alertsFile, &chart)
	if !reflect.DeepEqual(project["groups"], chart["groups"]) {
		t.Errorf("%s differs from %s: copy it (cp deploy/%s deploy/%s)", alertsFile, projectAlerts, projectAlerts, alertsFile)
	}
}

func readYAML(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// The chart's README documents every value, and no value that is gone.
func TestChartReadmeListsEveryValue(t *testing.T) {
	var values map[string]any
	readYAML(t, filepath.Join(chartDir, "values.yaml"), &values)
	readme, err := os.ReadFile(filepath.Join(chartDir, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, table, ok := strings.Cut(string(readme), "\n## Values\n")
	if !ok {
		t.Fatal("README.md has no Values section")
	}
	table, _, _ = strings.Cut(table, "\n## ")

	// The keys the table's first column names.
	documented := map[string]bool{}
	for _, line := range strings.Split(table, "\n") {
		cells := strings.Split(line, "|")
		if len(cells) < 3 {
			continue
		}
		for _, m := range regexp.MustCompile("`([^`]+)`").FindAllStringSubmatch(cells[1], -1) {
			documented[m[1]] = true
		}
	}
	for key := range documented {
		if !hasPath(values, strings.Split(key, ".")) {
			t.Errorf("README.md documents %s, which values.yaml does not have", key)
		}
	}
	// Every leaf of values.yaml is documented, itself or by a parent.
	var walk func(prefix string, m map[string]any)
	walk = func(prefix string, m map[string]any) {
		for k, v := range m {
			path := prefix + k
			if documented[path] {
				continue
			}
			if sub, ok := v.(map[string]any); ok && len(sub) > 0 {
				walk(path+".", sub)
				continue
			}
			t.Errorf("values.yaml has %s, which README.md does not document", path)
		}
	}
	walk("", values)
}

func hasPath(m map[string]any, path []string) bool {
	v, ok := m[path[0]]
	if !ok || len(path) == 1 {
		return ok
	}
	sub, ok := v.(map[string]any)
	return ok && hasPath(sub, path[1:])
}
