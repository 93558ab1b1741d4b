package webhooks

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestValidateURL(t *testing.T) {
	refused := map[string]string{
		"http://crm.example.com/hook":           "plain http",
		"ftp://crm.example.com/hook":            "scheme",
		"https://user:pw@crm.example.com/hook":  "user name or password",
		"https://localhost/hook":                "loopback name",
		"https://api.localhost/hook":            "loopback name",
		"https://127.0.0.1/hook":                "loopback",
		"https://10.1.2.3/hook":                 "private",
		"https://192.168.0.10/hook":             "private",
		"https://172.16.5.4/hook":               "private",
		"https://169.254.169.254/latest":        "link-local",
		"https://[::1]/hook":                    "loopback",
		"https://[fd00::1]/hook":                "private",
		"https://[fe80::1]/hook":                "link-local",
		"https://[::ffff:10.0.0.1]/hook":        "private",
		"https://100.64.0.1/hook":               "reserved range",
		"https://0.0.0.0/hook":                  "not a unicast",
		"https://[64:ff9b::a00:1]/hook":         "reserved range",
		"/relative/path":                        "absolute",
		"https://crm.example.com/hook#fragment": "fragment",
		"https://crm.example.com/" + long(600):  "characters",
	}
	for raw, want := range refused {
		_, err := ValidateURL(raw, false)
		require.Error(t, err, raw)
		require.Contains(t, err.Error(), want, raw)
	}

	for _, raw := range []string{"https://crm.example.com/hooks/dataflow?token=x", "https://8.8.8.8/hook", "https://[2001:4860::1]/hook", "https://a1.example.com:8443/x"} {
		_, err := ValidateURL(raw, false)
		require.NoError(t, err, raw)
	}

	canonical := map[string]string{
		"HTTPS://CRM.Example.com:443/Hooks?A=1": "https://crm.example.com/Hooks?A=1",
		"https://crm.example.com:8443/x":        "https://crm.example.com:8443/x",
		"https://[2001:4860::1]:443/x":          "https://[2001:4860::1]/x",
		"https://crm.example.com./x?":           "https://crm.example.com/x",
	}
	for raw, want := range canonical {
		got, err := ValidateURL(raw, false)
		require.NoError(t, err, raw)
		require.Equal(t, want, got, raw)
	}

	_, err := ValidateURL("https://10.0.0.1/x", false)
	var problem *URLProblem
	require.ErrorAs(t, err, &problem)
	require.Contains(t, problem.PT, "não é permitido")
	require.Contains(t, problem.PT, "é um endereço privado", "the reason is in Portuguese too")

	_, err = ValidateURL("http://127.0.0.1:8080/hook", true)
	require.NoError(t, err, "tests allow insecure targets")
}

func long(n int) string {
	b := make([]byte, n)
	for i := range b {
		b[i] = 'a'
	}

	return string(b)
}
