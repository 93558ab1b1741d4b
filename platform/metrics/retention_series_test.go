package metrics_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/platform/metrics"
)

// TestRetentionSeriesStartAtZero checks that the retention series exist
// before the first run or purge, so increase() counts the first event.
func TestRetentionSeriesStartAtZero(t *testing.T) {
	families, err := metrics.Registry.Gather()
	require.NoError(t, err)

	want := map[string][]string{
		"dataflow_retention_runs_total":            {"result=error", "result=ok"},
		"dataflow_retention_batches_deleted_total": {"trigger=purge", "trigger=retention"},
	}
	for _, family := range families {
		labels, ok := want[family.GetName()]
		if !ok {
			continue
		}

		var got []string
		for _, m := range family.GetMetric() {
			require.Len(t, m.GetLabel(), 1, "%s", family.GetName())
			got = append(got, m.GetLabel()[0].GetName()+"="+m.GetLabel()[0].GetValue())
			assert.Zero(t, m.GetCounter().GetValue(), "%s %s", family.GetName(), got[len(got)-1])
		}

		assert.ElementsMatch(t, labels, got, "%s", family.GetName())
		delete(want, family.GetName())
	}

	assert.Empty(t, want, "families missing from the registry")
}
