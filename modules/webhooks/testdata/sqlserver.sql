SELECT * FROM "WebhookSubscriptions" WHERE [ClientId] = @p1 ORDER BY [CreatedAt], [Id];

SELECT * FROM "WebhookSubscriptions" WHERE [Id] = @p1 AND [ClientId] = @p2 ORDER BY "Id" OFFSET 0 ROW FETCH NEXT 1 ROWS ONLY;

SELECT d.*, e.[Type] AS [EventType], e.[BatchId] AS [BatchId] FROM [WebhookDeliveries] AS d JOIN [WebhookEvents] AS e ON e.[Id] = d.[EventId] WHERE d.[SubscriptionId] = @p1 AND d.[Status] IN (@p2,@p3) AND ((d.[CreatedAt] < @p4 OR (d.[CreatedAt] = @p5 AND d.[Id] < @p6))) ORDER BY d.[CreatedAt] DESC, d.[Id] DESC OFFSET 0 ROW FETCH NEXT 51 ROWS ONLY;

SELECT d.[Id], d.[SubscriptionId], e.[ClientId], d.[NextAttemptAt], ROW_NUMBER() OVER (PARTITION BY d.[SubscriptionId] ORDER BY d.[NextAttemptAt], d.[Id]) AS [Rank] FROM [WebhookDeliveries] AS d JOIN [WebhookEvents] AS e ON e.[Id] = d.[EventId] WHERE d.[Status] = @p1 AND d.[NextAttemptAt] <= @p2 AND (d.[LockedUntil] IS NULL OR d.[LockedUntil] < @p3);

SELECT [Id], [SubscriptionId], [ClientId] FROM (SELECT d.[Id], d.[SubscriptionId], e.[ClientId], d.[NextAttemptAt], ROW_NUMBER() OVER (PARTITION BY d.[SubscriptionId] ORDER BY d.[NextAttemptAt], d.[Id]) AS [Rank] FROM [WebhookDeliveries] AS d JOIN [WebhookEvents] AS e ON e.[Id] = d.[EventId] WHERE d.[Status] = @p1 AND d.[NextAttemptAt] <= @p2 AND (d.[LockedUntil] IS NULL OR d.[LockedUntil] < @p3)) AS ranked WHERE [Rank] <= @p4 ORDER BY [NextAttemptAt], [Id] OFFSET 0 ROW FETCH NEXT 200 ROWS ONLY;

UPDATE [WebhookDeliveries] SET [LockedBy] = @p1, [LockedUntil] = @p2 WHERE [Id] = @p3 AND [Status] = @p4 AND [NextAttemptAt] <= @p5 AND ([LockedUntil] IS NULL OR [LockedUntil] < @p6);

SELECT * FROM "WebhookDeliveries" WHERE [Id] = @p1 ORDER BY "Id" OFFSET 0 ROW FETCH NEXT 1 ROWS ONLY;

SELECT * FROM "WebhookEvents" WHERE [Id] = @p1 ORDER BY "Id" OFFSET 0 ROW FETCH NEXT 1 ROWS ONLY;

SELECT * FROM "WebhookSubscriptions" WHERE [Id] = @p1 ORDER BY "Id" OFFSET 0 ROW FETCH NEXT 1 ROWS ONLY;

SELECT [ClientIdentifier] FROM [Clients] WHERE [Id] = @p1;

UPDATE [WebhookSubscriptions] SET [IsActive] = @p1, [DisabledAt] = @p2, [DisabledReason] = @p3 WHERE [Id] = @p4;

UPDATE [WebhookDeliveries] SET [Status] = @p1, [NextAttemptAt] = NULL, [LastError] = @p2 WHERE [SubscriptionId] = @p3 AND [Status] = @p4;

SELECT "Id" FROM "WebhookEvents" WHERE [CreatedAt] < @p1 AND NOT EXISTS (SELECT 1 FROM [WebhookDeliveries] AS d WHERE d.[EventId] = [WebhookEvents].[Id] AND d.[Status] = @p2) ORDER BY [CreatedAt] OFFSET 0 ROW FETCH NEXT 1000 ROWS ONLY;
