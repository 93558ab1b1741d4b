package metrics_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/dataflow/dataflow/platform/metrics"
)

// observabilityDir contains the example Prometheus configuration, alert
// rules and Grafana dashboard, relative to this package.
const observabilityDir = "../../docs/observability"

var (
	metricNamePattern = regexp.MustCompile(`dataflow_[a-z0-9_]+`)

	// descNamePattern reads the name out of Desc.String, because a Desc has
	// no accessor for it. It matches the format of client_golang v1.25.
	descNamePattern = regexp.MustCompile(`^Desc\{fqName: "([^"]+)"`)
)

// TestObservabilityMetricsRegistered checks that every dataflow_ metric
// named in the three files, in expressions, descriptions or comments, is
// registered in metrics.Registry, so a renamed metric cannot leave an empty
// panel or an alert that never fires.
func TestObservabilityMetricsRegistered(t *testing.T) {
	registered := registeredNames(t)

	for _, file := range []string{"alerts.yml", "grafana-dashboard.json", "prometheus.yml"} {
		t.Run(file, func(t *testing.T) {
			content, err := os.ReadFile(filepath.Join(observabilityDir, file))
			require.NoError(t, err)

			names := metricNamePattern.FindAllString(string(content), -1)
			slices.Sort(names)
			for _, name := range slices.Compact(names) {
				assert.Truef(t, isRegistered(registered, name),
					"%s names the metric %s, which metrics.Registry does not register; use a name from platform/metrics/metrics.go", file, name)
			}
		})
	}
}

// TestAlertRulesComplete checks that every alert rule has the fields that
// Alertmanager routing and the on-call reader rely on.
func TestAlertRulesComplete(t *testing.T) {
	var rules struct {
		Groups []struct {
			Name  string `yaml:"name"`
			Rules []struct {
				Alert       string            `yaml:"alert"`
				Expr        string            `yaml:"expr"`
				For         string            `yaml:"for"`
				Labels      map[string]string `yaml:"labels"`
				Annotations map[string]string `yaml:"annotations"`
			} `yaml:"rules"`
		} `yaml:"groups"`
	}
	readYAML(t, "alerts.yml", &rules)
	require.NotEmpty(t, rules.Groups)

	alerts := map[string]bool{}
	for _, group := range rules.Groups {
		require.NotEmptyf(t, group.Rules, "group %s has no rules", group.Name)

		for _, rule := range group.Rules {
			assert.NotEmptyf(t, rule.Alert, "a rule in group %s has no alert name", group.Name)
			assert.Falsef(t, alerts[rule.Alert], "alert %s is defined twice", rule.Alert)
			alerts[rule.Alert] = true

			assert.NotEmptyf(t, strings.TrimSpace(rule.Expr), "alert %s has no expr", rule.Alert)
			assert.NotEmptyf(t, rule.For, "alert %s has no for duration", rule.Alert)
			assert.Containsf(t, []string{"warning", "critical"}, rule.Labels["severity"],
				"alert %s needs labels.severity warning or critical", rule.Alert)
			assert.NotEmptyf(t, rule.Annotations["summary"], "alert %s has no summary annotation", rule.Alert)
			assert.NotEmptyf(t, rule.Annotations["description"], "alert %s has no description annotation", rule.Alert)
		}
	}
}

// TestPrometheusConfigJobs checks that the example configuration scrapes
// both processes under the job names that the alerts select on, and loads
// the alert rules.
func TestPrometheusConfigJobs(t *testing.T) {
	var config struct {
		RuleFiles     []string `yaml:"rule_files"`
		ScrapeConfigs []struct {
			JobName       string `yaml:"job_name"`
			StaticConfigs []struct {
				Targets []string `yaml:"targets"`
			} `yaml:"static_configs"`
		} `yaml:"scrape_configs"`
	}
	readYAML(t, "prometheus.yml", &config)

	assert.Contains(t, config.RuleFiles, "alerts.yml")

	jobs := map[string]int{}
	for _, scrape := range config.ScrapeConfigs {
		for _, static := range scrape.StaticConfigs {
			jobs[scrape.JobName] += len(static.Targets)
		}
	}

	assert.Positive(t, jobs["dataflow-serve"], "job dataflow-serve needs at least one static target")
	assert.Positive(t, jobs["dataflow-work"], "job dataflow-work needs at least one static target")
}

// TestDashboardQueries checks the template variables that the queries use
// and that every panel other than a row queries the selected data source.
func TestDashboardQueries(t *testing.T) {
	type target struct {
		Expr  string `json:"expr"`
		RefID string `json:"refId"`
	}
	type variable struct {
		Type  string          `json:"type"`
		Query json.RawMessage `json:"query"`
	}
	type panel struct {
		ID         int             `json:"id"`
		Type       string          `json:"type"`
		Title      string          `json:"title"`
		Datasource json.RawMessage `json:"datasource"`
		Targets    []target        `json:"targets"`
	}
	var dashboard struct {
		UID           string  `json:"uid"`
		SchemaVersion int     `json:"schemaVersion"`
		Panels        []panel `json:"panels"`
		Templating    struct {
			List []struct {
				Name string `json:"name"`
				variable
			} `json:"list"`
		} `json:"templating"`
	}

	content, err := os.ReadFile(filepath.Join(observabilityDir, "grafana-dashboard.json"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(content, &dashboard))

	assert.NotEmpty(t, dashboard.UID)
	assert.GreaterOrEqual(t, dashboard.SchemaVersion, 39)

	variables := map[string]variable{}
	for _, v := range dashboard.Templating.List {
		variables[v.Name] = v.variable
	}
	assert.Equal(t, "datasource", variables["datasource"].Type)
	assert.JSONEq(t, `"prometheus"`, string(variables["datasource"].Query))
	assert.Equal(t, "query", variables["client"].Type)
	assert.Contains(t, string(variables["client"].Query), "label_values(dataflow_batch_total, client)")

	ids := map[int]bool{}
	for _, p := range dashboard.Panels {
		assert.Falsef(t, ids[p.ID], "panel id %d is used twice", p.ID)
		ids[p.ID] = true

		if p.Type == "row" {
			continue
		}

		assert.JSONEqf(t, `{"type": "prometheus", "uid": "${datasource}"}`, string(p.Datasource),
			"panel %q must query the data source of the datasource variable", p.Title)
		require.NotEmptyf(t, p.Targets, "panel %q has no query", p.Title)
		for _, q := range p.Targets {
			assert.Regexpf(t, metricNamePattern, q.Expr, "query %s of panel %q reads no DataFlow metric", q.RefID, p.Title)
		}
	}
}

// registeredNames collects the metric name of every descriptor in
// metrics.Registry.
// It reads descriptors, not gathered samples, because a vector with no label
// values observed yet is absent from Gather.
func registeredNames(t *testing.T) map[string]bool {
	t.Helper()

	descs := make(chan *prometheus.Desc)
	go func() {
		metrics.Registry.Describe(descs)
		close(descs)
	}()

	names := map[string]bool{}
	for desc := range descs {
		match := descNamePattern.FindStringSubmatch(desc.String())
		require.NotNilf(t, match, "cannot read the metric name from %s; update descNamePattern to the client_golang format", desc)
		names[match[1]] = true
	}

	require.True(t, names["dataflow_batch_total"], "dataflow_batch_total is missing from the descriptors read out of metrics.Registry")

	return names
}

// isRegistered reports whether name is a registered metric or a series that
// a registered histogram exposes.
//
// NOTE: a Desc carries no metric type, so dataflow_batch_total_count would
// also pass although dataflow_batch_total is a counter.
func isRegistered(registered map[string]bool, name string) bool {
	if registered[name] {
		return true
	}

	for _, suffix := range []string{"_bucket", "_sum", "_count"} {
		if base, found := strings.CutSuffix(name, suffix); found && registered[base] {
			return true
		}
	}

	return false
}

func readYAML(t *testing.T, file string, out any) {
	t.Helper()

	content, err := os.ReadFile(filepath.Join(observabilityDir, file))
	require.NoError(t, err)
	require.NoErrorf(t, yaml.Unmarshal(content, out), "%s is not valid YAML", file)
}
