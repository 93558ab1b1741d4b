-- Generated from the migrations by `go test ./db -update`; do not edit.
-- 0001 create Clients and ClientPolicies
CREATE TABLE IF NOT EXISTS "Clients" (
    "Id" TEXT NOT NULL PRIMARY KEY,
    "Name" TEXT NOT NULL,
    "ClientIdentifier" TEXT NOT NULL,
    "SecretHash" BLOB NOT NULL,
    "SecretSalt" BLOB NOT NULL,
    "Status" TEXT NOT NULL,
    "CreatedAt" DATETIME NOT NULL,
    "LastSeenAt" DATETIME
);
CREATE UNIQUE INDEX IF NOT EXISTS "IX_Clients_ClientIdentifier" ON "Clients" ("ClientIdentifier");
CREATE TABLE IF NOT EXISTS "ClientPolicies" (
    "Id" TEXT NOT NULL PRIMARY KEY,
    "ClientId" TEXT,
    "MaxFileSizeMb" INTEGER,
    "MaxBatchPerDay" INTEGER,
    "AllowedStartHour" INTEGER,
    "AllowedEndHour" INTEGER,
    "RequireSchedulingForLarge" INTEGER,
    "LargeThresholdMb" INTEGER,
    "RateLimitPerMinute" INTEGER,
    "RedactPayloadOnSuccess" INTEGER,
    "RedactPayloadOnFailure" INTEGER,
    "RetentionDays" INTEGER,
    "CreatedAt" DATETIME NOT NULL,
    CONSTRAINT "FK_ClientPolicies_Clients_ClientId" FOREIGN KEY ("ClientId") REFERENCES "Clients" ("Id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "IX_ClientPolicies_ClientId" ON "ClientPolicies" ("ClientId");
-- 0002 create ImportBatches and ImportItems
CREATE TABLE IF NOT EXISTS "ImportBatches" (
    "Id" TEXT NOT NULL PRIMARY KEY,
    "ClientId" TEXT NOT NULL,
    "Status" TEXT NOT NULL,
    "FileType" TEXT NOT NULL,
    "FileName" TEXT NOT NULL,
    "FileSizeBytes" INTEGER NOT NULL,
    "Checksum" TEXT NOT NULL,
    "UploadPath" TEXT NOT NULL,
    "PolicyDecision" TEXT NOT NULL,
    "OriginDefault" TEXT,
    "RequestedBy" TEXT,
    "MetadataJson" TEXT,
    "CreatedAt" DATETIME NOT NULL,
    "StartedAt" DATETIME,
    "CompletedAt" DATETIME,
    "TotalRecords" INTEGER NOT NULL DEFAULT 0,
    "ProcessedRecords" INTEGER NOT NULL DEFAULT 0,
    "ErrorSummary" TEXT,
    CONSTRAINT "FK_ImportBatches_Clients_ClientId" FOREIGN KEY ("ClientId") REFERENCES "Clients" ("Id")
);
CREATE INDEX IF NOT EXISTS "IX_ImportBatches_ClientId" ON "ImportBatches" ("ClientId");
CREATE INDEX IF NOT EXISTS "IX_ImportBatches_Status_CreatedAt" ON "ImportBatches" ("Status", "CreatedAt");
CREATE TABLE IF NOT EXISTS "ImportItems" (
    "Id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "BatchId" TEXT NOT NULL,
    "Sequence" INTEGER NOT NULL,
    "PayloadJson" TEXT NOT NULL,
    "Status" TEXT NOT NULL,
    "ErrorMessage" TEXT,
    "CreatedAt" DATETIME NOT NULL,
    CONSTRAINT "FK_ImportItems_ImportBatches_BatchId" FOREIGN KEY ("BatchId") REFERENCES "ImportBatches" ("Id") ON DELETE CASCADE
);
-- 0003 create BatchLocks with slot 1
CREATE TABLE IF NOT EXISTS "BatchLocks" (
    "Id" INTEGER NOT NULL PRIMARY KEY,
    "IsLocked" INTEGER NOT NULL DEFAULT 0,
    "LockOwnerBatchId" TEXT,
    "LockedAt" DATETIME
);
INSERT INTO "BatchLocks" ("Id", "IsLocked") SELECT 1, 0 WHERE NOT EXISTS (SELECT 1 FROM "BatchLocks" WHERE "Id" = 1);
-- 0004 create WebhookSubscriptions
CREATE TABLE IF NOT EXISTS "WebhookSubscriptions" (
    "Id" TEXT NOT NULL PRIMARY KEY,
    "ClientId" TEXT NOT NULL,
    "Url" TEXT NOT NULL,
    "Secret" TEXT NOT NULL,
    "IsActive" INTEGER NOT NULL DEFAULT 1,
    "CreatedAt" DATETIME NOT NULL,
    CONSTRAINT "FK_WebhookSubscriptions_Clients_ClientId" FOREIGN KEY ("ClientId") REFERENCES "Clients" ("Id") ON DELETE CASCADE
);
CREATE UNIQUE INDEX IF NOT EXISTS "IX_WebhookSubscriptions_ClientId_Url" ON "WebhookSubscriptions" ("ClientId", "Url");
-- 0005 add resumable processing columns to ImportBatches and ImportItems
ALTER TABLE "ImportBatches" ADD COLUMN "ScheduledFor" DATETIME;
ALTER TABLE "ImportBatches" ADD COLUMN "PolicyReason" TEXT;
ALTER TABLE "ImportBatches" ADD COLUMN "FailedRecords" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "ImportBatches" ADD COLUMN "SkippedRecords" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "ImportBatches" ADD COLUMN "ChunkSize" INTEGER;
ALTER TABLE "ImportBatches" ADD COLUMN "StagedRecords" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "ImportBatches" ADD COLUMN "StagedAt" DATETIME;
ALTER TABLE "ImportBatches" ADD COLUMN "AttemptCount" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "ImportBatches" ADD COLUMN "PauseCount" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "ImportBatches" ADD COLUMN "NextAttemptAt" DATETIME;
ALTER TABLE "ImportBatches" ADD COLUMN "WorkerId" TEXT;
ALTER TABLE "ImportBatches" ADD COLUMN "HeartbeatAt" DATETIME;
ALTER TABLE "ImportBatches" ADD COLUMN "LeaseToken" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "ImportBatches" ADD COLUMN "TraceId" TEXT;
ALTER TABLE "ImportItems" ADD COLUMN "LeadId" TEXT;
CREATE UNIQUE INDEX IF NOT EXISTS "UX_ImportItems_BatchId_Sequence" ON "ImportItems" ("BatchId", "Sequence");
CREATE INDEX IF NOT EXISTS "IX_ImportItems_BatchId_Status_Sequence" ON "ImportItems" ("BatchId", "Status", "Sequence");
-- 0006 add lease columns to BatchLocks
ALTER TABLE "BatchLocks" ADD COLUMN "LeaseToken" INTEGER NOT NULL DEFAULT 0;
ALTER TABLE "BatchLocks" ADD COLUMN "HeartbeatAt" DATETIME;
ALTER TABLE "BatchLocks" ADD COLUMN "LockedBy" TEXT;
-- 0007 add reading options to ImportBatches and source lines to ImportItems
ALTER TABLE "ImportBatches" ADD COLUMN "ImportOptionsJson" TEXT;
ALTER TABLE "ImportItems" ADD COLUMN "SourceLine" INTEGER;
-- 0008 add batch control columns and client indexes to ImportBatches
ALTER TABLE "ImportBatches" ADD COLUMN "ParentBatchId" TEXT;
ALTER TABLE "ImportBatches" ADD COLUMN "CancelRequestedAt" DATETIME;
CREATE INDEX IF NOT EXISTS "IX_ImportBatches_ClientId_Checksum" ON "ImportBatches" ("ClientId", "Checksum");
CREATE INDEX IF NOT EXISTS "IX_ImportBatches_ClientId_CreatedAt" ON "ImportBatches" ("ClientId", "CreatedAt");
-- 0009 create RateLimitCounters
CREATE TABLE IF NOT EXISTS "RateLimitCounters" (
    "Id" INTEGER PRIMARY KEY AUTOINCREMENT,
    "Key" TEXT NOT NULL,
    "WindowStart" DATETIME NOT NULL,
    "Count" INTEGER NOT NULL
);
CREATE UNIQUE INDEX IF NOT EXISTS "UX_RateLimitCounters_Key_WindowStart" ON "RateLimitCounters" ("Key", "WindowStart");
-- 0010 create the webhook outbox and delivery log
ALTER TABLE "WebhookSubscriptions" ADD COLUMN "Events" TEXT;
ALTER TABLE "WebhookSubscriptions" ADD COLUMN "FailingSince" DATETIME;
ALTER TABLE "WebhookSubscriptions" ADD COLUMN "DisabledAt" DATETIME;
ALTER TABLE "WebhookSubscriptions" ADD COLUMN "DisabledReason" TEXT;
CREATE TABLE IF NOT EXISTS "WebhookEvents" (
    "Id" TEXT NOT NULL PRIMARY KEY,
    "ClientId" TEXT NOT NULL,
    "Type" TEXT NOT NULL,
    "BatchId" TEXT NOT NULL,
    "PayloadJson" TEXT NOT NULL,
    "TraceId" TEXT,
    "CreatedAt" DATETIME NOT NULL,
    CONSTRAINT "FK_WebhookEvents_Clients_ClientId" FOREIGN KEY ("ClientId") REFERENCES "Clients" ("Id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "IX_WebhookEvents_CreatedAt" ON "WebhookEvents" ("CreatedAt");
CREATE TABLE IF NOT EXISTS "WebhookDeliveries" (
    "Id" TEXT NOT NULL PRIMARY KEY,
    "EventId" TEXT NOT NULL,
    "SubscriptionId" TEXT NOT NULL,
    "Status" TEXT NOT NULL,
    "Attempts" INTEGER NOT NULL DEFAULT 0,
    "NextAttemptAt" DATETIME,
    "LockedBy" TEXT,
    "LockedUntil" DATETIME,
    "LastAttemptAt" DATETIME,
    "LastStatusCode" INTEGER,
    "LastError" TEXT,
    "LastDurationMs" INTEGER,
    "DeliveredAt" DATETIME,
    "CreatedAt" DATETIME NOT NULL,
    CONSTRAINT "FK_WebhookDeliveries_WebhookEvents_EventId" FOREIGN KEY ("EventId") REFERENCES "WebhookEvents" ("Id") ON DELETE CASCADE,
    CONSTRAINT "FK_WebhookDeliveries_WebhookSubscriptions_SubscriptionId" FOREIGN KEY ("SubscriptionId") REFERENCES "WebhookSubscriptions" ("Id") ON DELETE CASCADE
);
CREATE INDEX IF NOT EXISTS "IX_WebhookDeliveries_Status_NextAttemptAt" ON "WebhookDeliveries" ("Status", "NextAttemptAt");
CREATE INDEX IF NOT EXISTS "IX_WebhookDeliveries_SubscriptionId_CreatedAt" ON "WebhookDeliveries" ("SubscriptionId", "CreatedAt");
CREATE INDEX IF NOT EXISTS "IX_WebhookDeliveries_EventId" ON "WebhookDeliveries" ("EventId");
