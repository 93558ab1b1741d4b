SELECT [Id], [ClientId], [Status], [CreatedAt], [CompletedAt], [UploadPath] FROM "ImportBatches" WHERE ([Status] IN (@p1,@p2,@p3,@p4) AND COALESCE([CompletedAt], [CreatedAt]) < @p5) AND ([ClientId] NOT IN (SELECT [ClientId] FROM [ClientPolicies] WHERE [ClientId] IS NOT NULL AND [RetentionDays] IS NOT NULL)) ORDER BY COALESCE([CompletedAt], [CreatedAt]), [Id] OFFSET 0 ROW FETCH NEXT 100 ROWS ONLY;

SELECT [Id], [ClientId], [Status], [CreatedAt], [CompletedAt], [UploadPath] FROM "ImportBatches" WHERE ([Status] IN (@p1,@p2,@p3,@p4) AND COALESCE([CompletedAt], [CreatedAt]) < @p5) AND [ClientId] IN (@p6,@p7) ORDER BY COALESCE([CompletedAt], [CreatedAt]), [Id] OFFSET 0 ROW FETCH NEXT 100 ROWS ONLY;

SELECT [Id], [ClientId], [Status], [CreatedAt], [CompletedAt], [UploadPath] FROM "ImportBatches" WHERE [Status] IN (@p1,@p2,@p3,@p4) AND COALESCE([CompletedAt], [CreatedAt]) < @p5 ORDER BY COALESCE([CompletedAt], [CreatedAt]), [Id] OFFSET 0 ROW FETCH NEXT 10000 ROWS ONLY;

SELECT [Id], [ClientId], [Status], [CreatedAt], [CompletedAt], [UploadPath] FROM "ImportBatches" WHERE [Id] IN (@p1,@p2,@p3);

SELECT * FROM "ClientPolicies" ORDER BY [CreatedAt], [Id];

SELECT COUNT(*) FROM [ImportItems] WHERE [BatchId] = @p1;

DELETE FROM [ImportItems] WHERE [BatchId] = @p1 AND [Sequence] < (SELECT MIN([Sequence]) FROM [ImportItems] WHERE [BatchId] = @p2) + @p3;

DELETE FROM [ImportBatches] WHERE [Id] = @p1 AND [Status] IN (@p2,@p3,@p4,@p5) AND NOT EXISTS (SELECT 1 FROM [ImportItems] WHERE [BatchId] = @p6);

SELECT COUNT(*) FROM [ImportBatches] WHERE [Id] = @p1 AND [Status] IN (@p2,@p3,@p4,@p5);

SELECT [Id], [ClientIdentifier] FROM [Clients] WHERE [Id] IN (@p1,@p2);
