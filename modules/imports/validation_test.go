package imports

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRecordRulesRequired(t *testing.T) {
	rules := newRecordRules([]string{"phoneNumber", "leadContextJson.budget"}, "")
	for _, tc := range []struct {
		name, record, status, message string
	}{
		{"all present", `{"phoneNumber":"1","leadContextJson":{"budget":10}}`, ItemPending, ""},
		{"missing top level", `{"leadContextJson":{"budget":10}}`, ItemError, `the required field "phoneNumber" is missing or empty`},
		{"blank string", `{"phoneNumber":"  ","leadContextJson":{"budget":1}}`, ItemError, `the required field "phoneNumber" is missing or empty`},
		{"null value", `{"phoneNumber":null,"leadContextJson":{"budget":1}}`, ItemError, `the required field "phoneNumber" is missing or empty`},
		{"missing nested", `{"phoneNumber":"1","leadContextJson":{}}`, ItemError, `the required field "leadContextJson.budget" is missing or empty`},
		{"nested parent not an object", `{"phoneNumber":"1","leadContextJson":"x"}`, ItemError, `the required field "leadContextJson.budget" is missing or empty`},
		{"zero counts as present", `{"phoneNumber":0,"leadContextJson":{"budget":0}}`, ItemPending, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, message := rules.check(0, []byte(tc.record))
			assert.Equal(t, tc.status, status)
			assert.Equal(t, tc.message, message)
		})
	}
}

func TestRecordRulesDedup(t *testing.T) {
	rules := newRecordRules(nil, "phoneNumber")
	records := []string{
		`{"phoneNumber":"+55 (11) 99999-0000"}`,
		`{"phoneNumber":"5511999990000"}`,
		`{"phoneNumber":" 55 11 99999 0000 "}`,
		`{"phoneNumber":"5511999990001"}`,
		`{"name":"no key"}`,
		`{"name":"no key either"}`,
	}
	want := []string{ItemPending, ItemSkipped, ItemSkipped, ItemPending, ItemPending, ItemPending}
	for seq, record := range records {
		status, message := rules.check(seq, []byte(record))
		assert.Equal(t, want[seq], status, "record %d", seq)
		if status == ItemSkipped {
			assert.Equal(t, "duplicate of the record with sequence 0 (same phoneNumber)", message)
		}
	}
}

func TestRecordRulesDedupEmail(t *testing.T) {
	rules := newRecordRules(nil, "contact.email")
	status, _ := rules.check(0, []byte(`{"contact":{"email":"Ana@Example.invalid"}}`))
	require.Equal(t, ItemPending, status)

	status, message := rules.check(1, []byte(`{"contact":{"email":" ana@example.invalid"}}`))
	require.Equal(t, ItemSkipped, status)
	require.Contains(t, message, "sequence 0")
}

func TestRecordRulesIgnoreCase(t *testing.T) {
	rules := newRecordRules([]string{"telefone"}, "telefone")
	status, _ := rules.check(0, []byte(`{"Telefone":"11 5555-0000"}`))
	require.Equal(t, ItemPending, status)

	status, _ = rules.check(1, []byte(`{"TELEFONE":"1155550000"}`))
	require.Equal(t, ItemSkipped, status)

	// Two keys that differ only by case make the field ambiguous.
	status, message := rules.check(2, []byte(`{"Telefone":"1","TELEFONE":"2"}`))
	require.Equal(t, ItemError, status)
	require.Contains(t, message, "telefone")
}

func TestRecordRulesNone(t *testing.T) {
	require.Nil(t, newRecordRules([]string{" "}, ""))

	var rules *recordRules
	status, message := rules.check(0, []byte(`{}`))
	require.Equal(t, ItemPending, status)
	require.Empty(t, message)
}

func TestPhoneDigits(t *testing.T) {
	assert.Equal(t, "5511999990000", phoneDigits("+55 (11) 99999-0000"))
	assert.Equal(t, "ramal 12", phoneDigits(" ramal 12 "))
}
