// Package locking owns the processing slots (table BatchLocks). A slot is a
// lease: a row that one worker holds while it processes one batch, so that
// the number of batches processed at once, across every worker process,
// never exceeds the number of slots (ImportBatch:MaxConcurrentBatches,
// default 1, which protects OmniFlow).
//
// States of a slot row:
//
//	free (IsLocked=false) --Acquire--> held (IsLocked=true, LockedBy, HeartbeatAt, LeaseToken+1)
//	held --Heartbeat--> held (HeartbeatAt renewed, only with the same LeaseToken)
//	held --Release--> free (only with the same LeaseToken)
//	held, HeartbeatAt older than the lock timeout --Watchdog--> free (LeaseToken+1)
//
// Every transition is one conditional UPDATE whose row count tells whether it
// won, which works the same on SQL Server, PostgreSQL and SQLite. Because
// the watchdog and every acquisition bump LeaseToken, a worker that was
// frozen past the timeout finds its token gone and stops.
package locking
