package webhooks

import (
	"bufio"
	"encoding/hex"
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestSignatureVectors checks signing and verification against the
// Standard Webhooks vectors in testdata/vectors.tsv (see SOURCES.md).
func TestSignatureVectors(t *testing.T) {
	f, err := os.Open("testdata/vectors.tsv")
	require.NoError(t, err)
	defer f.Close()

	sc := bufio.NewScanner(f)
	require.True(t, sc.Scan(), "header row")
	header := strings.Split(sc.Text(), "\t")
	col := map[string]int{}
	for i, name := range header {
		col[name] = i
	}

	rows := 0
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		get := func(name string) string { return fields[col[name]] }
		payload, err := hex.DecodeString(get("payload_hex"))
		require.NoError(t, err)
		rows++

		t.Run(get("id"), func(t *testing.T) {
			signer, err := NewSigner(get("secret"))
			if get("kind") == "secret-error" {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)

			switch get("kind") {
			case "sign+verify":
				sig, err := signer.Sign(get("msg_id"), get("timestamp"), payload)
				require.NoError(t, err)
				require.Equal(t, get("expected_signature"), sig)
				require.True(t, signer.Verify(get("msg_id"), get("timestamp"), payload, sig))
			case "reject":
				require.False(t, signer.Verify(get("msg_id"), get("timestamp"), payload, get("expected_signature")))
			case "verify":
				require.True(t, signer.Verify(get("msg_id"), get("timestamp"), payload, get("expected_signature")))
			case "sign-error":
				_, err := signer.Sign(get("msg_id"), get("timestamp"), payload)
				require.Error(t, err)
				_, err = signer.SignLegacy(get("timestamp"), payload)
				require.Error(t, err)
			default:
				t.Fatalf("unknown kind %q", get("kind"))
			}
		})
	}
	require.NoError(t, sc.Err())
	require.Equal(t, 11, rows)
}

func TestLegacySignature(t *testing.T) {
	signer, err := NewSigner("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw")
	require.NoError(t, err)

	// Computed independently with Python's hmac module over the decoded key.
	sig, err := signer.SignLegacy("1614265330", []byte(`{"a":1}`))
	require.NoError(t, err)
	require.Equal(t, "2dd767f5082df37ef5907c4ebf9b210b179ece703ca581437c7eb02f57f735f2", sig)

	other, err := signer.SignLegacy("1614265331", []byte(`{"a":1}`))
	require.NoError(t, err)
	require.NotEqual(t, sig, other)
}

func TestGenerateSecret(t *testing.T) {
	a, b := GenerateSecret(), GenerateSecret()
	require.NotEqual(t, a, b)
	require.True(t, strings.HasPrefix(a, "whsec_"))
	require.LessOrEqual(t, len(a), 128, "fits WebhookSubscriptions.Secret")

	signer, err := NewSigner(a)
	require.NoError(t, err)
	require.Len(t, signer.key, 32)
}
