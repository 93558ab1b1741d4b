package imports

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/dataflow/dataflow/platform/database"
)

// batchFolder is a folder under the storage path named like a batch id.
type batchFolder struct {
	id   database.UUID
	path string
}

// cleanFolders removes the batch folders that no batch needs: those of
// finished batches, and those whose batch row does not exist and that
// nothing has changed for OrphanAge. Folders of batches that are not
// finished, and entries whose name is not a batch id, stay. It returns the
// number of orphan and finished folders removed.
func (r *Retention) cleanFolders(ctx context.Context) (orphans, finished int, err error) {
	folders, err := r.batchFolders()
	if err != nil {
		return 0, 0, err
	}

	ids := make([]database.UUID, len(folders))
	for i, f := range folders {
		ids[i] = f.id
	}

	rows, err := r.purger.store.batchesByID(ctx, ids)
	if err != nil {
		return 0, 0, err
	}

	byID := make(map[database.UUID]finishedBatch, len(rows))
	for _, b := range rows {
		byID[b.ID] = b
	}

	identifiers, err := r.purger.store.clientIdentifiers(ctx, distinctClients(rows))
	if err != nil {
		return 0, 0, err
	}

	now := r.now()
	for _, f := range folders {
		log := r.log.With().Str("batch_id", f.id.String()).Logger()
		b, exists := byID[f.id]
		switch {
		case exists && !slices.Contains(terminalStatuses, b.Status):
			continue
		case exists:
			log := log.With().Str("client_id", b.ClientID.String()).Str("client_identifier", identifiers[b.ClientID]).Logger()
			if err := r.purger.storage.RemoveBatch(f.id.String()); err != nil {
				log.Warn().Err(err).Msg("retention: removing the folder of a finished batch failed")

				continue
			}

			finished++
			log.Info().Str("status", b.Status).Msg("retention: removed the folder of a finished batch")
		default:
			changed, err := lastChange(f.path)
			if err != nil {
				log.Warn().Err(err).Msg("retention: reading a folder without a batch failed")

				continue
			}

			if now.Sub(changed) < r.cfg.OrphanAge {
				continue
			}

			if err := r.purger.storage.RemoveBatch(f.id.String()); err != nil {
				log.Warn().Err(err).Msg("retention: removing a folder without a batch failed")

				continue
			}

			orphans++
			log.Info().Time("changed_at", changed.UTC()).Msg("retention: removed a folder without a batch")
		}
	}

	return orphans, finished, nil
}

// batchFolders lists the folders directly under the storage path whose
// name is a batch id in the form BatchDir gives it.
func (r *Retention) batchFolders() ([]batchFolder, error) {
	base := r.purger.storage.Base()
	entries, err := os.ReadDir(base)
	if err != nil {
		return nil, fmt.Errorf("listing the storage folder %s: %w", base, err)
	}

	var out []batchFolder
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}

		id, err := database.ParseUUID(e.Name())
		if err != nil || id.String() != e.Name() {
			continue
		}

		out = append(out, batchFolder{id: id, path: filepath.Join(base, e.Name())})
	}

	return out, nil
}

// lastChange returns the latest modification time of a folder and of the
// entries directly in it. A file being uploaded changes with every write,
// and renaming it into place changes the folder.
func lastChange(dir string) (time.Time, error) {
	info, err := os.Stat(dir)
	if err != nil {
		return time.Time{}, err
	}

	latest := info.ModTime()
	entries, err := os.ReadDir(dir)
	if err != nil {
		return time.Time{}, err
	}

	for _, e := range entries {
		entryInfo, err := e.Info()
		if errors.Is(err, os.ErrNotExist) {
			continue
		}

		if err != nil {
			return time.Time{}, err
		}

		if entryInfo.ModTime().After(latest) {
			latest = entryInfo.ModTime()
		}
	}

	return latest, nil
}
