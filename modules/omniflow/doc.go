// Package omniflow sends validated lead records to the OmniFlow CRM import API
// and provides a stand-in server with the same contract for demos and tests.
//
// The contract: DataFlow posts one chunk of a batch per request to
// {BaseUrl}{ImportPath} as {"batchId","chunkId","offset","items":[...]},
// with the header Idempotency-Key: {batchId}:{chunkId}, so that OmniFlow can
// recognise a resent chunk. A 2xx response may list a result per record,
// keyed by the record's absolute position in the file ("sequence"). Other
// 4xx responses reject the whole chunk. 408, 429, 5xx and transport failures
// are retried with exponential backoff, and when retries run out the client
// returns an error that wraps ErrUnavailable so that the worker can pause
// the batch.
package omniflow
