SELECT [Id], ROW_NUMBER() OVER (PARTITION BY [ClientId] ORDER BY [CreatedAt], [Id]) AS [Rank] FROM "ImportBatches" WHERE ([Status] = @p1 OR ([Status] = @p2 AND ([ScheduledFor] IS NULL OR [ScheduledFor] <= @p3))) AND ([NextAttemptAt] IS NULL OR [NextAttemptAt] <= @p4);

SELECT [Id] FROM (SELECT [Id], ROW_NUMBER() OVER (PARTITION BY [ClientId] ORDER BY [CreatedAt], [Id]) AS [Rank] FROM "ImportBatches" WHERE ([Status] = @p1 OR ([Status] = @p2 AND ([ScheduledFor] IS NULL OR [ScheduledFor] <= @p3))) AND ([NextAttemptAt] IS NULL OR [NextAttemptAt] <= @p4)) AS ranked WHERE [Rank] <= @p5;

SELECT * FROM "ImportBatches" WHERE [Id] IN (SELECT [Id] FROM (SELECT [Id], ROW_NUMBER() OVER (PARTITION BY [ClientId] ORDER BY [CreatedAt], [Id]) AS [Rank] FROM "ImportBatches" WHERE ([Status] = @p1 OR ([Status] = @p2 AND ([ScheduledFor] IS NULL OR [ScheduledFor] <= @p3))) AND ([NextAttemptAt] IS NULL OR [NextAttemptAt] <= @p4)) AS ranked WHERE [Rank] <= @p5) ORDER BY [CreatedAt] OFFSET 0 ROW FETCH NEXT 10 ROWS ONLY;

UPDATE [ImportBatches] SET [Status] = @p1, [LeaseToken] = @p2, [WorkerId] = @p3, [HeartbeatAt] = @p4, [StartedAt] = COALESCE([StartedAt], @p5), [AttemptCount] = [AttemptCount] + 1, [ChunkSize] = @p6, [NextAttemptAt] = NULL WHERE [Id] = @p7 AND [LeaseToken] = @p8 AND [Status] IN (@p9, @p10);

UPDATE [ImportBatches] SET [HeartbeatAt] = @p1 WHERE [Id] = @p2 AND [LeaseToken] = @p3 AND [Status] = @p4;

UPDATE [ImportBatches] SET [StagedRecords] = @p1, [TotalRecords] = @p2, [StagedAt] = @p3 WHERE [Id] = @p4 AND [LeaseToken] = @p5 AND [Status] = @p6;

SELECT MIN([Sequence]) FROM [ImportItems] WHERE [BatchId] = @p1 AND [Status] = @p2;

SELECT [Sequence], [PayloadJson] FROM [ImportItems] WHERE [BatchId] = @p1 AND [Status] = @p2 AND [Sequence] >= @p3 AND [Sequence] < @p4 ORDER BY [Sequence];

SELECT COUNT(*) FROM [ImportItems] WHERE [BatchId] = @p1 AND [Sequence] >= @p2 AND [Sequence] <= @p3 AND [Status] = @p4;

UPDATE [ImportBatches] SET [ProcessedRecords] = [ProcessedRecords] + @p1, [FailedRecords] = [FailedRecords] + @p2, [HeartbeatAt] = @p3 WHERE [Id] = @p4 AND [LeaseToken] = @p5 AND [Status] = @p6;

UPDATE [ImportItems] SET [Status] = @p1 WHERE [BatchId] = @p2 AND [Sequence] >= @p3 AND [Sequence] <= @p4;

UPDATE t SET t.[Status] = v.c1, t.[LeadId] = v.c2, t.[ErrorMessage] = v.c3 FROM [ImportItems] AS t JOIN (VALUES (@p1, @p2, @p3, @p4), (@p5, @p6, @p7, @p8)) AS v(k, c1, c2, c3) ON t.[Sequence] = v.k WHERE t.[BatchId] = @p9;

UPDATE t SET t.[PayloadJson] = v.c1 FROM [ImportItems] AS t JOIN (VALUES (@p1, @p2)) AS v(k, c1) ON t.[Sequence] = v.k WHERE t.[BatchId] = @p3;

UPDATE [ImportBatches] SET [Status] = @p1, [CompletedAt] = @p2, [ErrorSummary] = @p3, [WorkerId] = NULL WHERE [Id] = @p4 AND [LeaseToken] = @p5 AND [Status] = @p6;

SELECT COUNT(*) FROM [ImportBatches] WHERE [Id] = @p1 AND [LeaseToken] = @p2 AND [Status] = @p3;

UPDATE [ImportBatches] SET [Status] = @p1, [WorkerId] = NULL, [LeaseToken] = [LeaseToken] + 1, [NextAttemptAt] = @p2, [AttemptCount] = [AttemptCount] - 1 WHERE [Id] = @p3 AND [LeaseToken] = @p4 AND [Status] = @p5;

UPDATE [ImportBatches] SET [Status] = @p1, [WorkerId] = NULL, [LeaseToken] = [LeaseToken] + 1, [NextAttemptAt] = @p2, [AttemptCount] = [AttemptCount] - 1, [PauseCount] = [PauseCount] + 1 WHERE [Id] = @p3 AND [LeaseToken] = @p4 AND [Status] = @p5;

UPDATE [ImportBatches] SET [Status] = @p1, [WorkerId] = NULL, [LeaseToken] = [LeaseToken] + 1, [NextAttemptAt] = @p2 WHERE [Id] = @p3 AND [LeaseToken] = @p4 AND [Status] = @p5;

UPDATE [ImportBatches] SET [Status] = @p1, [WorkerId] = NULL, [LeaseToken] = [LeaseToken] + 1 WHERE [Status] = @p2 AND ([HeartbeatAt] < @p3 OR ([HeartbeatAt] IS NULL AND ([StartedAt] IS NULL OR [StartedAt] < @p4)));

SELECT * FROM "ImportBatches" WHERE [ClientId] = @p1 AND [Checksum] = @p2 AND [Status] <> @p3 AND ([Status] NOT IN (@p4,@p5,@p6,@p7) OR [CompletedAt] >= @p8) ORDER BY [CreatedAt] DESC OFFSET 0 ROW FETCH NEXT 1 ROWS ONLY;

SELECT * FROM "ImportBatches" WHERE [ClientId] = @p1 AND [Status] IN (@p2) AND [CreatedAt] >= @p3 AND [CreatedAt] < @p4 AND (([CreatedAt] < @p5 OR ([CreatedAt] = @p6 AND [Id] < @p7))) ORDER BY [CreatedAt] DESC, [Id] DESC OFFSET 0 ROW FETCH NEXT 51 ROWS ONLY;

UPDATE [ImportBatches] SET [Status] = @p1, [CompletedAt] = @p2, [ErrorSummary] = @p3, [LeaseToken] = [LeaseToken] + 1, [CancelRequestedAt] = @p4 WHERE [Id] = @p5 AND [ClientId] = @p6 AND [Status] IN (@p7, @p8);

UPDATE [ImportBatches] SET [CancelRequestedAt] = COALESCE([CancelRequestedAt], @p1) WHERE [Id] = @p2 AND [ClientId] = @p3 AND [Status] = @p4;

SELECT COUNT(*) FROM [ImportBatches] WHERE [Id] = @p1 AND [CancelRequestedAt] IS NOT NULL;

UPDATE [ImportBatches] SET [Status] = @p1, [CompletedAt] = @p2, [ErrorSummary] = @p3, [WorkerId] = NULL WHERE [Id] = @p4 AND [LeaseToken] = @p5 AND [Status] = @p6;

SELECT * FROM "ClientPolicies" WHERE [ClientId] = @p1 OR [ClientId] IS NULL ORDER BY [CreatedAt];

SELECT COUNT(*) FROM [ImportBatches] WHERE [ClientId] = @p1 AND [Status] <> @p2 AND (([ScheduledFor] IS NOT NULL AND [ScheduledFor] >= @p3 AND [ScheduledFor] < @p4) OR ([ScheduledFor] IS NULL AND [CreatedAt] >= @p5 AND [CreatedAt] < @p6));

SELECT [ClientId], COUNT(*) AS [Processing] FROM [ImportBatches] WHERE [ClientId] IN (@p1) AND [Status] = @p2 GROUP BY [ClientId];

SELECT [Sequence], [Status], [ErrorMessage], [LeadId], [SourceLine], [PayloadJson] FROM "ImportItems" WHERE ([BatchId] = @p1 AND [Sequence] > @p2) AND [Status] IN (@p3,@p4) ORDER BY [Sequence] OFFSET 0 ROW FETCH NEXT 100 ROWS ONLY;

SELECT [Sequence], [Status], [ErrorMessage], [LeadId], [SourceLine], [PayloadJson] FROM "ImportItems" WHERE [BatchId] = @p1 AND [Sequence] > @p2 ORDER BY [Sequence] OFFSET 0 ROW FETCH NEXT 101 ROWS ONLY;

UPDATE [ImportBatches] SET [StagedRecords] = @p1, [HeartbeatAt] = @p2, [ProcessedRecords] = [ProcessedRecords] + @p3, [FailedRecords] = [FailedRecords] + @p4, [SkippedRecords] = [SkippedRecords] + @p5 WHERE [Id] = @p6 AND [LeaseToken] = @p7 AND [Status] = @p8;
