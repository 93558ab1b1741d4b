-- Generated from the migrations by `go test ./db -update`; do not edit.
-- 0001 create Clients and ClientPolicies
IF OBJECT_ID(N'dbo.Clients', N'U') IS NULL
CREATE TABLE [Clients] (
    [Id] uniqueidentifier NOT NULL PRIMARY KEY,
    [Name] nvarchar(120) NOT NULL,
    [ClientIdentifier] nvarchar(64) NOT NULL,
    [SecretHash] varbinary(max) NOT NULL,
    [SecretSalt] varbinary(max) NOT NULL,
    [Status] nvarchar(20) NOT NULL,
    [CreatedAt] datetime2 NOT NULL,
    [LastSeenAt] datetime2
);
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'IX_Clients_ClientIdentifier' AND object_id = OBJECT_ID(N'dbo.Clients'))
CREATE UNIQUE INDEX [IX_Clients_ClientIdentifier] ON [Clients] ([ClientIdentifier]);
IF OBJECT_ID(N'dbo.ClientPolicies', N'U') IS NULL
CREATE TABLE [ClientPolicies] (
    [Id] uniqueidentifier NOT NULL PRIMARY KEY,
    [ClientId] uniqueidentifier,
    [MaxFileSizeMb] int,
    [MaxBatchPerDay] int,
    [AllowedStartHour] int,
    [AllowedEndHour] int,
    [RequireSchedulingForLarge] bit,
    [LargeThresholdMb] int,
    [RateLimitPerMinute] int,
    [RedactPayloadOnSuccess] bit,
    [RedactPayloadOnFailure] bit,
    [RetentionDays] int,
    [CreatedAt] datetime2 NOT NULL,
    CONSTRAINT [FK_ClientPolicies_Clients_ClientId] FOREIGN KEY ([ClientId]) REFERENCES [Clients] ([Id]) ON DELETE CASCADE
);
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'IX_ClientPolicies_ClientId' AND object_id = OBJECT_ID(N'dbo.ClientPolicies'))
CREATE INDEX [IX_ClientPolicies_ClientId] ON [ClientPolicies] ([ClientId]);
-- 0002 create ImportBatches and ImportItems
IF OBJECT_ID(N'dbo.ImportBatches', N'U') IS NULL
CREATE TABLE [ImportBatches] (
    [Id] uniqueidentifier NOT NULL PRIMARY KEY,
    [ClientId] uniqueidentifier NOT NULL,
    [Status] nvarchar(32) NOT NULL,
    [FileType] nvarchar(16) NOT NULL,
    [FileName] nvarchar(260) NOT NULL,
    [FileSizeBytes] bigint NOT NULL,
    [Checksum] nvarchar(64) NOT NULL,
    [UploadPath] nvarchar(512) NOT NULL,
    [PolicyDecision] nvarchar(16) NOT NULL,
    [OriginDefault] nvarchar(120),
    [RequestedBy] nvarchar(120),
    [MetadataJson] nvarchar(max),
    [CreatedAt] datetime2 NOT NULL,
    [StartedAt] datetime2,
    [CompletedAt] datetime2,
    [TotalRecords] int NOT NULL DEFAULT 0,
    [ProcessedRecords] int NOT NULL DEFAULT 0,
    [ErrorSummary] nvarchar(max),
    CONSTRAINT [FK_ImportBatches_Clients_ClientId] FOREIGN KEY ([ClientId]) REFERENCES [Clients] ([Id])
);
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'IX_ImportBatches_ClientId' AND object_id = OBJECT_ID(N'dbo.ImportBatches'))
CREATE INDEX [IX_ImportBatches_ClientId] ON [ImportBatches] ([ClientId]);
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'IX_ImportBatches_Status_CreatedAt' AND object_id = OBJECT_ID(N'dbo.ImportBatches'))
CREATE INDEX [IX_ImportBatches_Status_CreatedAt] ON [ImportBatches] ([Status], [CreatedAt]);
IF OBJECT_ID(N'dbo.ImportItems', N'U') IS NULL
CREATE TABLE [ImportItems] (
    [Id] bigint IDENTITY(1,1) NOT NULL PRIMARY KEY,
    [BatchId] uniqueidentifier NOT NULL,
    [Sequence] int NOT NULL,
    [PayloadJson] nvarchar(max) NOT NULL,
    [Status] nvarchar(16) NOT NULL,
    [ErrorMessage] nvarchar(max),
    [CreatedAt] datetime2 NOT NULL,
    CONSTRAINT [FK_ImportItems_ImportBatches_BatchId] FOREIGN KEY ([BatchId]) REFERENCES [ImportBatches] ([Id]) ON DELETE CASCADE
);
-- 0003 create BatchLocks with slot 1
IF OBJECT_ID(N'dbo.BatchLocks', N'U') IS NULL
CREATE TABLE [BatchLocks] (
    [Id] int NOT NULL PRIMARY KEY,
    [IsLocked] bit NOT NULL DEFAULT 0,
    [LockOwnerBatchId] uniqueidentifier,
    [LockedAt] datetime2
);
INSERT INTO [BatchLocks] ([Id], [IsLocked]) SELECT 1, 0 WHERE NOT EXISTS (SELECT 1 FROM [BatchLocks] WHERE [Id] = 1);
-- 0004 create WebhookSubscriptions
IF OBJECT_ID(N'dbo.WebhookSubscriptions', N'U') IS NULL
CREATE TABLE [WebhookSubscriptions] (
    [Id] uniqueidentifier NOT NULL PRIMARY KEY,
    [ClientId] uniqueidentifier NOT NULL,
    [Url] nvarchar(512) NOT NULL,
    [Secret] nvarchar(128) NOT NULL,
    [IsActive] bit NOT NULL DEFAULT 1,
    [CreatedAt] datetime2 NOT NULL,
    CONSTRAINT [FK_WebhookSubscriptions_Clients_ClientId] FOREIGN KEY ([ClientId]) REFERENCES [Clients] ([Id]) ON DELETE CASCADE
);
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'IX_WebhookSubscriptions_ClientId_Url' AND object_id = OBJECT_ID(N'dbo.WebhookSubscriptions'))
CREATE UNIQUE INDEX [IX_WebhookSubscriptions_ClientId_Url] ON [WebhookSubscriptions] ([ClientId], [Url]);
-- 0005 add resumable processing columns to ImportBatches and ImportItems
ALTER TABLE [ImportBatches] ADD [ScheduledFor] datetime2;
ALTER TABLE [ImportBatches] ADD [PolicyReason] nvarchar(200);
ALTER TABLE [ImportBatches] ADD [FailedRecords] int NOT NULL DEFAULT 0;
ALTER TABLE [ImportBatches] ADD [SkippedRecords] int NOT NULL DEFAULT 0;
ALTER TABLE [ImportBatches] ADD [ChunkSize] int;
ALTER TABLE [ImportBatches] ADD [StagedRecords] int NOT NULL DEFAULT 0;
ALTER TABLE [ImportBatches] ADD [StagedAt] datetime2;
ALTER TABLE [ImportBatches] ADD [AttemptCount] int NOT NULL DEFAULT 0;
ALTER TABLE [ImportBatches] ADD [PauseCount] int NOT NULL DEFAULT 0;
ALTER TABLE [ImportBatches] ADD [NextAttemptAt] datetime2;
ALTER TABLE [ImportBatches] ADD [WorkerId] nvarchar(128);
ALTER TABLE [ImportBatches] ADD [HeartbeatAt] datetime2;
ALTER TABLE [ImportBatches] ADD [LeaseToken] bigint NOT NULL DEFAULT 0;
ALTER TABLE [ImportBatches] ADD [TraceId] nvarchar(64);
ALTER TABLE [ImportItems] ADD [LeadId] nvarchar(128);
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'UX_ImportItems_BatchId_Sequence' AND object_id = OBJECT_ID(N'dbo.ImportItems'))
CREATE UNIQUE INDEX [UX_ImportItems_BatchId_Sequence] ON [ImportItems] ([BatchId], [Sequence]);
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'IX_ImportItems_BatchId_Status_Sequence' AND object_id = OBJECT_ID(N'dbo.ImportItems'))
CREATE INDEX [IX_ImportItems_BatchId_Status_Sequence] ON [ImportItems] ([BatchId], [Status], [Sequence]);
-- 0006 add lease columns to BatchLocks
ALTER TABLE [BatchLocks] ADD [LeaseToken] bigint NOT NULL DEFAULT 0;
ALTER TABLE [BatchLocks] ADD [HeartbeatAt] datetime2;
ALTER TABLE [BatchLocks] ADD [LockedBy] nvarchar(128);
-- 0007 add reading options to ImportBatches and source lines to ImportItems
ALTER TABLE [ImportBatches] ADD [ImportOptionsJson] nvarchar(max);
ALTER TABLE [ImportItems] ADD [SourceLine] int;
-- 0008 add batch control columns and client indexes to ImportBatches
ALTER TABLE [ImportBatches] ADD [ParentBatchId] uniqueidentifier;
ALTER TABLE [ImportBatches] ADD [CancelRequestedAt] datetime2;
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'IX_ImportBatches_ClientId_Checksum' AND object_id = OBJECT_ID(N'dbo.ImportBatches'))
CREATE INDEX [IX_ImportBatches_ClientId_Checksum] ON [ImportBatches] ([ClientId], [Checksum]);
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'IX_ImportBatches_ClientId_CreatedAt' AND object_id = OBJECT_ID(N'dbo.ImportBatches'))
CREATE INDEX [IX_ImportBatches_ClientId_CreatedAt] ON [ImportBatches] ([ClientId], [CreatedAt]);
-- 0009 create RateLimitCounters
IF OBJECT_ID(N'dbo.RateLimitCounters', N'U') IS NULL
CREATE TABLE [RateLimitCounters] (
    [Id] bigint IDENTITY(1,1) NOT NULL PRIMARY KEY,
    [Key] nvarchar(200) NOT NULL,
    [WindowStart] datetime2 NOT NULL,
    [Count] int NOT NULL
);
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'UX_RateLimitCounters_Key_WindowStart' AND object_id = OBJECT_ID(N'dbo.RateLimitCounters'))
CREATE UNIQUE INDEX [UX_RateLimitCounters_Key_WindowStart] ON [RateLimitCounters] ([Key], [WindowStart]);
-- 0010 create the webhook outbox and delivery log
ALTER TABLE [WebhookSubscriptions] ADD [Events] nvarchar(256);
ALTER TABLE [WebhookSubscriptions] ADD [FailingSince] datetime2;
ALTER TABLE [WebhookSubscriptions] ADD [DisabledAt] datetime2;
ALTER TABLE [WebhookSubscriptions] ADD [DisabledReason] nvarchar(256);
IF OBJECT_ID(N'dbo.WebhookEvents', N'U') IS NULL
CREATE TABLE [WebhookEvents] (
    [Id] uniqueidentifier NOT NULL PRIMARY KEY,
    [ClientId] uniqueidentifier NOT NULL,
    [Type] nvarchar(64) NOT NULL,
    [BatchId] uniqueidentifier NOT NULL,
    [PayloadJson] nvarchar(max) NOT NULL,
    [TraceId] nvarchar(64),
    [CreatedAt] datetime2 NOT NULL,
    CONSTRAINT [FK_WebhookEvents_Clients_ClientId] FOREIGN KEY ([ClientId]) REFERENCES [Clients] ([Id]) ON DELETE CASCADE
);
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'IX_WebhookEvents_CreatedAt' AND object_id = OBJECT_ID(N'dbo.WebhookEvents'))
CREATE INDEX [IX_WebhookEvents_CreatedAt] ON [WebhookEvents] ([CreatedAt]);
IF OBJECT_ID(N'dbo.WebhookDeliveries', N'U') IS NULL
CREATE TABLE [WebhookDeliveries] (
    [Id] uniqueidentifier NOT NULL PRIMARY KEY,
    [EventId] uniqueidentifier NOT NULL,
    [SubscriptionId] uniqueidentifier NOT NULL,
    [Status] nvarchar(32) NOT NULL,
    [Attempts] int NOT NULL DEFAULT 0,
    [NextAttemptAt] datetime2,
    [LockedBy] nvarchar(64),
    [LockedUntil] datetime2,
    [LastAttemptAt] datetime2,
    [LastStatusCode] int,
    [LastError] nvarchar(512),
    [LastDurationMs] int,
    [DeliveredAt] datetime2,
    [CreatedAt] datetime2 NOT NULL,
    CONSTRAINT [FK_WebhookDeliveries_WebhookEvents_EventId] FOREIGN KEY ([EventId]) REFERENCES [WebhookEvents] ([Id]) ON DELETE CASCADE,
    CONSTRAINT [FK_WebhookDeliveries_WebhookSubscriptions_SubscriptionId] FOREIGN KEY ([SubscriptionId]) REFERENCES [WebhookSubscriptions] ([Id]) ON DELETE CASCADE
);
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'IX_WebhookDeliveries_Status_NextAttemptAt' AND object_id = OBJECT_ID(N'dbo.WebhookDeliveries'))
CREATE INDEX [IX_WebhookDeliveries_Status_NextAttemptAt] ON [WebhookDeliveries] ([Status], [NextAttemptAt]);
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'IX_WebhookDeliveries_SubscriptionId_CreatedAt' AND object_id = OBJECT_ID(N'dbo.WebhookDeliveries'))
CREATE INDEX [IX_WebhookDeliveries_SubscriptionId_CreatedAt] ON [WebhookDeliveries] ([SubscriptionId], [CreatedAt]);
IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'IX_WebhookDeliveries_EventId' AND object_id = OBJECT_ID(N'dbo.WebhookDeliveries'))
CREATE INDEX [IX_WebhookDeliveries_EventId] ON [WebhookDeliveries] ([EventId]);
