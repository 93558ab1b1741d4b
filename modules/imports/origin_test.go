package imports

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestApplyOriginDefault(t *testing.T) {
	for _, tc := range []struct {
		name, record, origin, want string
	}{
		{"missing origin", `{"name":"a"}`, "site", `{"name":"a","origin":"site"}`},
		{"empty object", `{}`, "site", `{"origin":"site"}`},
		{"keeps a non-empty origin", `{"origin":"ads"}`, "site", `{"origin":"ads"}`},
		{"replaces an empty origin", `{"origin":"  "}`, "site", `{"origin":"site"}`},
		{"replaces a null origin", `{"a":1,"origin":null}`, "site", `{"a":1,"origin":"site"}`},
		{"no default leaves the record", `{"name":"a"}`, "", `{"name":"a"}`},
		{"escapes the default", `{"a":1}`, `x"y`, `{"a":1,"origin":"x\"y"}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := applyOriginDefault(json.RawMessage(tc.record), tc.origin)
			require.NoError(t, err)
			require.JSONEq(t, tc.want, string(got))
		})
	}
}
