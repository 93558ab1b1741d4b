INSERT INTO [BatchLocks] ([Id], [IsLocked], [LeaseToken]) SELECT @p1, 0, 0 WHERE NOT EXISTS (SELECT 1 FROM [BatchLocks] WHERE [Id] = @p2);

SELECT [Id], [IsLocked], [LeaseToken] FROM [BatchLocks] WHERE [Id] <= @p1 AND [IsLocked] = @p2 ORDER BY [Id];

UPDATE [BatchLocks] SET [IsLocked] = @p1, [LockOwnerBatchId] = NULL, [LockedAt] = @p2, [HeartbeatAt] = @p3, [LockedBy] = @p4, [LeaseToken] = @p5 WHERE [Id] = @p6 AND [IsLocked] = @p7 AND [LeaseToken] = @p8;

UPDATE [BatchLocks] SET [LockOwnerBatchId] = @p1, [HeartbeatAt] = @p2 WHERE [Id] = @p3 AND [LeaseToken] = @p4 AND [IsLocked] = @p5;

UPDATE [BatchLocks] SET [HeartbeatAt] = @p1 WHERE [Id] = @p2 AND [LeaseToken] = @p3 AND [IsLocked] = @p4;

UPDATE [BatchLocks] SET [IsLocked] = @p1, [LockOwnerBatchId] = NULL, [LockedBy] = NULL WHERE [Id] = @p2 AND [LeaseToken] = @p3 AND [IsLocked] = @p4;

SELECT [Id], [LeaseToken], [LockOwnerBatchId], [LockedBy] FROM [BatchLocks] WHERE [IsLocked] = @p1 AND ([HeartbeatAt] < @p2 OR ([HeartbeatAt] IS NULL AND ([LockedAt] IS NULL OR [LockedAt] < @p3)));

UPDATE [BatchLocks] SET [IsLocked] = @p1, [LockOwnerBatchId] = NULL, [LockedBy] = NULL, [LeaseToken] = @p2 WHERE [Id] = @p3 AND [LeaseToken] = @p4 AND [IsLocked] = @p5;
