package storage_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/dataflow/dataflow/platform/storage"
)

func TestSafeName(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"leads.json", "leads.json"},
		{"../../x.json", "x.json"},
		{`..\..\windows\x.json`, "x.json"},
		{"/etc/passwd", "passwd"},
		{"..", "upload"},
		{"", "upload"},
		{".hidden", "hidden"},
		{"a\x00b\nc.json", "abc.json"},
		{"C:evil.json", "Cevil.json"},
		{"planilha de leads — março.json", "planilha de leads — março.json"},
		{"CON", "_CON"},
		{"COM¹.csv", "_COM¹.csv"},
		{"leads\u202Evsc.exe", "leadsvsc.exe"},
		{"nul.csv", "_nul.csv"},
		{"com1.tar.gz", "_com1.tar.gz"},
		{"console.csv", "console.csv"},
		{"leads.csv. . ", "leads.csv"},
		{`a<b>c|d?e*"f.csv`, "a_b_c_d_e__f.csv"},
		{"bad\xffbyte.csv", "badbyte.csv"},
	} {
		t.Run(tc.in, func(t *testing.T) {
			require.Equal(t, tc.want, storage.SafeName(tc.in))
		})
	}

	t.Run("long names keep the extension and valid utf-8", func(t *testing.T) {
		got := storage.SafeName(strings.Repeat("ç", 300) + ".json")
		require.LessOrEqual(t, len(got), 200)
		require.True(t, strings.HasSuffix(got, ".json"))
		require.True(t, strings.ToValidUTF8(got, "?") == got)
	})
}

func TestStore(t *testing.T) {
	newStore := func(t *testing.T) *storage.Store {
		s, err := storage.New(filepath.Join(t.TempDir(), "uploads"))
		require.NoError(t, err)

		return s
	}

	t.Run("saves inside the batch folder with its digest", func(t *testing.T) {
		s := newStore(t)
		content := []byte(`[{"a":1}]`)
		saved, err := s.Save("batch-1", "../../x.json", bytes.NewReader(content), 0)
		require.NoError(t, err)

		sum := sha256.Sum256(content)
		require.Equal(t, hex.EncodeToString(sum[:]), saved.SHA256)
		require.EqualValues(t, len(content), saved.SizeBytes)
		require.Equal(t, filepath.Join(s.Base(), "batch-1", "x.json"), saved.Path)

		data, err := os.ReadFile(saved.Path)
		require.NoError(t, err)
		require.Equal(t, content, data)
	})

	t.Run("rejects content past the limit and leaves nothing", func(t *testing.T) {
		s := newStore(t)
		_, err := s.Save("batch-2", "big.json", bytes.NewReader(make([]byte, 2048)), 1024)
		require.ErrorIs(t, err, storage.ErrTooLarge)

		_, err = os.Stat(filepath.Join(s.Base(), "batch-2"))
		require.ErrorIs(t, err, os.ErrNotExist)
	})

	t.Run("remove file deletes the batch folder", func(t *testing.T) {
		s := newStore(t)
		saved, err := s.Save("batch-3", "a.json", strings.NewReader("{}"), 0)
		require.NoError(t, err)

		require.NoError(t, s.RemoveFile(saved.Path))
		_, err = os.Stat(filepath.Dir(saved.Path))
		require.ErrorIs(t, err, os.ErrNotExist)
		require.NoError(t, s.RemoveFile(saved.Path), "removing twice is not an error")
	})

	t.Run("unwritable base is a clear error", func(t *testing.T) {
		file := filepath.Join(t.TempDir(), "file")
		require.NoError(t, os.WriteFile(file, nil, 0o600))

		_, err := storage.New(filepath.Join(file, "uploads"))
		require.Error(t, err)
		require.Contains(t, err.Error(), "ImportStorage:BasePath")
	})
}

func TestRemoveStaleTemp(t *testing.T) {
	s, err := storage.New(filepath.Join(t.TempDir(), "uploads"))
	require.NoError(t, err)

	old := filepath.Join(s.Base(), "abandoned", ".upload-1")
	fresh := filepath.Join(s.Base(), "running", ".upload-2")
	for _, p := range []string{old, fresh} {
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o750))
		require.NoError(t, os.WriteFile(p, []byte("["), 0o600))
	}

	past := time.Now().Add(-2 * time.Hour)
	require.NoError(t, os.Chtimes(old, past, past))

	n, err := s.RemoveStaleTemp(time.Hour, time.Now())
	require.NoError(t, err)
	require.Equal(t, 1, n)

	_, err = os.Stat(filepath.Dir(old))
	require.ErrorIs(t, err, os.ErrNotExist, "the emptied batch folder goes too")
	_, err = os.Stat(fresh)
	require.NoError(t, err, "an upload in progress stays")
}
