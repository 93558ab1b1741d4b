// Package storage keeps uploaded files on disk, one folder per batch, until
// the worker has read them.
package storage

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
)

// ErrTooLarge is returned by Save when the content passes the size limit.
var ErrTooLarge = errors.New("file exceeds the size limit")

// Store is a folder of batch subfolders.
type Store struct {
	base string
}

// SavedFile describes a stored upload.
type SavedFile struct {
	// Path is the absolute path of the file.
	Path string
	// Name is the sanitised file name inside the batch folder.
	Name      string
	SizeBytes int64
	// SHA256 is the lower-case hex digest of the content.
	SHA256 string
}

// New creates base if needed and checks that files can be written there.
func New(base string) (*Store, error) {
	abs, err := filepath.Abs(base)
	if err != nil {
		return nil, fmt.Errorf("resolving storage path %q: %w", base, err)
	}

	s := &Store{base: abs}
	if err := s.CheckWritable(); err != nil {
		return nil, err
	}

	return s, nil
}

// Base returns the absolute storage folder.
func (s *Store) Base() string { return s.base }

// CheckWritable creates the folder and writes and removes a probe file.
func (s *Store) CheckWritable() error {
	if err := os.MkdirAll(s.base, 0o750); err != nil {
		return fmt.Errorf("creating storage folder %s: %w (set ImportStorage:BasePath to a writable folder)", s.base, err)
	}

	probe, err := os.CreateTemp(s.base, ".probe-*")
	if err != nil {
		return fmt.Errorf("writing to storage folder %s: %w (set ImportStorage:BasePath to a writable folder)", s.base, err)
	}

	name := probe.Name()
	_ = probe.Close()

	return os.Remove(name)
}

// SafeName reduces a client-supplied file name to a plain base name that
// cannot leave the batch folder: path parts (both separators), control
// characters and leading dots are removed, and the result is at most 200
// bytes. An empty result becomes "upload".
func SafeName(name string) string {
	name = strings.ReplaceAll(name, `\`, "/")
	if i := strings.LastIndex(name, "/"); i >= 0 {
		name = name[i+1:]
	}

	name = strings.ToValidUTF8(name, "")
	name = strings.Map(func(r rune) rune {
		switch {
		case unicode.IsControl(r) || r == ':' || r == unicode.ReplacementChar:
			return -1
		case unicode.Is(unicode.Cf, r):
			// Format characters such as U+202E (right-to-left override)
			// can make "exe.csv" display as "vsc.exe".
			return -1
		case strings.ContainsRune(`<>"|?*`, r):
			// Not allowed in Windows file names, so such a name could not
			// be saved there or copied from a share.
			return '_'
		}

		return r
	}, name)
	// Windows also drops trailing dots and spaces, and a leading dot hides
	// the file on Unix.
	name = strings.TrimRight(strings.TrimLeft(strings.TrimSpace(name), "."), ". ")
	if isReservedName(name) {
		name = "_" + name
	}

	for len(name) > 200 {
		ext := filepath.Ext(name)
		if len(ext) > 20 {
			ext = ""
		}

		cut := 200 - len(ext)
		// Cut on a rune boundary.
		for cut > 0 && !isRuneStart(name[cut]) {
			cut--
		}

		name = name[:cut] + ext
	}

	if name == "" {
		return "upload"
	}

	return name
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }

// isReservedName reports whether name, without its extensions, is a device
// name that Windows reserves in every folder (CON, NUL, COM1...).
func isReservedName(name string) bool {
	base, _, _ := strings.Cut(strings.ToUpper(name), ".")
	base = strings.TrimRight(base, " ")
	switch base {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}

	// Windows reserves COM0-9 and LPT0-9, with the superscript digits ¹ ² ³
	// as well.
	for _, prefix := range []string{"COM", "LPT"} {
		if digit, ok := strings.CutPrefix(base, prefix); ok {
			return len(digit) == 1 && digit[0] >= '0' && digit[0] <= '9' || digit == "¹" || digit == "²" || digit == "³"
		}
	}

	return false
}

// Save streams r into {base}/{batchID}/{SafeName(fileName)} while hashing
// it. The content is written to a temporary file, synced and renamed, so a
// crash never leaves a half-written file under the final name. maxBytes <= 0
// means no limit; past the limit Save stops reading, removes what it wrote
// and returns ErrTooLarge.
func (s *Store) Save(batchID, fileName string, r io.Reader, maxBytes int64) (SavedFile, error) {
	dir := s.BatchDir(batchID)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return SavedFile{}, fmt.Errorf("creating batch folder: %w", err)
	}

	name := SafeName(fileName)
	tmp, err := os.CreateTemp(dir, ".upload-*")
	if err != nil {
		return SavedFile{}, fmt.Errorf("creating upload file: %w", err)
	}

	saved, err := s.copyInto(tmp, r, maxBytes)
	if err != nil {
		_ = tmp.Close()
		_ = os.RemoveAll(dir)

		return SavedFile{}, err
	}

	final := filepath.Join(dir, name)
	if err := os.Rename(tmp.Name(), final); err != nil {
		_ = os.RemoveAll(dir)

		return SavedFile{}, fmt.Errorf("renaming upload file: %w", err)
	}

	syncDir(dir)

	saved.Path = final
	saved.Name = name

	return saved, nil
}

func (s *Store) copyInto(f *os.File, r io.Reader, maxBytes int64) (SavedFile, error) {
	hash := sha256.New()
	limited := r
	if maxBytes > 0 {
		limited = io.LimitReader(r, maxBytes+1)
	}

	buf := make([]byte, 1<<20)
	n, err := io.CopyBuffer(io.MultiWriter(f, hash), limited, buf)
	if err != nil {
		return SavedFile{}, fmt.Errorf("writing upload file: %w", err)
	}

	if maxBytes > 0 && n > maxBytes {
		return SavedFile{}, ErrTooLarge
	}

	if err := f.Sync(); err != nil {
		return SavedFile{}, fmt.Errorf("syncing upload file: %w", err)
	}

	if err := f.Close(); err != nil {
		return SavedFile{}, fmt.Errorf("closing upload file: %w", err)
	}

	return SavedFile{SizeBytes: n, SHA256: hex.EncodeToString(hash.Sum(nil))}, nil
}

// RemoveStaleTemp deletes temporary upload files older than age, left by a
// process that stopped in the middle of an upload, and their batch folders
// when nothing else is in them. It returns how many files it removed.
func (s *Store) RemoveStaleTemp(age time.Duration, now time.Time) (int, error) {
	matches, err := filepath.Glob(filepath.Join(s.base, "*", ".upload-*"))
	if err != nil {
		return 0, fmt.Errorf("listing temporary uploads: %w", err)
	}

	removed := 0
	for _, path := range matches {
		info, err := os.Stat(path)
		if err != nil || now.Sub(info.ModTime()) < age {
			continue
		}

		if err := os.Remove(path); err != nil {
			return removed, fmt.Errorf("removing temporary upload: %w", err)
		}

		removed++
		_ = os.Remove(filepath.Dir(path)) // only succeeds when the folder is empty
	}

	return removed, nil
}

// BatchDir returns the folder of one batch.
func (s *Store) BatchDir(batchID string) string {
	return filepath.Join(s.base, SafeName(batchID))
}

// RemoveBatch deletes a batch folder and everything in it. A folder that is
// already gone is not an error.
func (s *Store) RemoveBatch(batchID string) error {
	if err := os.RemoveAll(s.BatchDir(batchID)); err != nil {
		return fmt.Errorf("removing batch folder: %w", err)
	}

	return nil
}

// RemoveFile deletes one stored file and its folder when that folder is a
// batch folder under base and is then empty.
func (s *Store) RemoveFile(path string) error {
	if err := os.Remove(path); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("removing upload file: %w", err)
	}

	dir := filepath.Dir(path)
	if filepath.Dir(dir) == s.base {
		if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("removing batch folder: %w", err)
		}
	}

	return nil
}

func syncDir(dir string) {
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync()
		_ = d.Close()
	}
}
