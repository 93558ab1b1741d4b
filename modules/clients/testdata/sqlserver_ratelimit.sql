MERGE [RateLimitCounters] WITH (HOLDLOCK) AS t USING (SELECT @p1 AS [Key], @p2 AS [WindowStart]) AS s ON t.[Key] = s.[Key] AND t.[WindowStart] = s.[WindowStart] WHEN MATCHED THEN UPDATE SET [Count] = t.[Count] + 1 WHEN NOT MATCHED THEN INSERT ([Key], [WindowStart], [Count]) VALUES (s.[Key], s.[WindowStart], 1) OUTPUT inserted.[Count];;

SELECT COALESCE(SUM([Count]), 0) FROM [RateLimitCounters] WHERE [Key] = @p1 AND [WindowStart] = @p2;
