"""Numbered schema migrations; ``PRAGMA user_version`` records how many have been applied.

Append new migrations; never edit one that has shipped.
"""

from __future__ import annotations

# The tokenizer of papers_fts; every other FTS5 table that must stem the same way (topic matching) uses it.
TOKENIZER = "porter unicode61 remove_diacritics 2"

MIGRATIONS: list[str] = [
    # 1: papers, their full-text index, and per-source poll state.
    """
    CREATE TABLE papers (
        pk            INTEGER PRIMARY KEY,
        arxiv_id      TEXT    NOT NULL UNIQUE,
        title         TEXT    NOT NULL,
        abstract      TEXT    NOT NULL DEFAULT '',
        authors       TEXT    NOT NULL DEFAULT '',  -- one name per line
        keywords      TEXT    NOT NULL DEFAULT '',  -- one keyword per line
        ai_summary    TEXT,
        upvotes       INTEGER,                      -- NULL: no source has told us
        num_comments  INTEGER,
        github_repo   TEXT,
        github_stars  INTEGER,
        project_page  TEXT,
        organization  TEXT,
        thumbnail     TEXT,
        categories    TEXT    NOT NULL DEFAULT '',  -- space separated
        published_at  INTEGER,                      -- unix seconds, UTC
        listed_at     INTEGER,                      -- first daily listing, unix seconds, UTC
        sources       INTEGER NOT NULL DEFAULT 0,   -- bot.models.Source bit mask
        first_seen_at INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
    );
    CREATE INDEX papers_listed_at ON papers (listed_at);
    CREATE INDEX papers_upvotes ON papers (upvotes);

    CREATE VIRTUAL TABLE papers_fts USING fts5 (
        title, abstract, authors, keywords,
        content = 'papers', content_rowid = 'pk',
        tokenize = 'porter unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER papers_fts_insert AFTER INSERT ON papers BEGIN
        INSERT INTO papers_fts (rowid, title, abstract, authors, keywords)
        VALUES (new.pk, new.title, new.abstract, new.authors, new.keywords);
    END;
    CREATE TRIGGER papers_fts_delete AFTER DELETE ON papers BEGIN
        INSERT INTO papers_fts (papers_fts, rowid, title, abstract, authors, keywords)
        VALUES ('delete', old.pk, old.title, old.abstract, old.authors, old.keywords);
    END;
    -- Upvote refreshes are the common update; they must not rewrite the index.
    CREATE TRIGGER papers_fts_update AFTER UPDATE OF title, abstract, authors, keywords ON papers
    WHEN old.title IS NOT new.title OR old.abstract IS NOT new.abstract
      OR old.authors IS NOT new.authors OR old.keywords IS NOT new.keywords
    BEGIN
        INSERT INTO papers_fts (papers_fts, rowid, title, abstract, authors, keywords)
        VALUES ('delete', old.pk, old.title, old.abstract, old.authors, old.keywords);
        INSERT INTO papers_fts (rowid, title, abstract, authors, keywords)
        VALUES (new.pk, new.title, new.abstract, new.authors, new.keywords);
    END;

    CREATE TABLE source_state (
        name                 TEXT PRIMARY KEY,
        last_attempt_at      INTEGER,
        last_success_at      INTEGER,
        last_error           TEXT,
        last_error_at        INTEGER,
        consecutive_failures INTEGER NOT NULL DEFAULT 0,
        next_attempt_at      INTEGER,
        last_count           INTEGER,
        etag                 TEXT,
        last_modified        TEXT
    );
    """,
    # 2: what the Discord side stores: command-sync bookkeeping, user topics, channel feeds.
    """
    CREATE TABLE meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    );

    CREATE TABLE topics (
        id         INTEGER PRIMARY KEY,
        user_id    INTEGER NOT NULL,
        query      TEXT    NOT NULL,  -- canonical form (bot.search.Query.canonical)
        created_at INTEGER NOT NULL,
        UNIQUE (user_id, query)
    );

    CREATE TABLE feeds (
        id              INTEGER PRIMARY KEY,
        guild_id        INTEGER NOT NULL,
        channel_id      INTEGER NOT NULL UNIQUE,
        topic           TEXT,                        -- canonical query, NULL for every paper
        min_upvotes     INTEGER NOT NULL DEFAULT 0,
        sources         INTEGER NOT NULL DEFAULT 3,  -- bot.models.Source bit mask
        mode            TEXT    NOT NULL DEFAULT 'instant' CHECK (mode IN ('instant', 'digest')),
        digest_hour     INTEGER NOT NULL DEFAULT 9 CHECK (digest_hour BETWEEN 0 AND 23),
        timezone        TEXT    NOT NULL DEFAULT 'UTC',
        threads         INTEGER NOT NULL DEFAULT 0,
        created_by      INTEGER,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        disabled_reason TEXT,
        disabled_at     INTEGER
    );
    CREATE INDEX feeds_guild ON feeds (guild_id);
    """,
    # 3: automatic delivery. Topic/feed queries indexed by their rarest terms (a percolator), the durable
    # outbox of (target, paper) deliveries, and per-user DM state.
    """
    CREATE TABLE queries (
        id        INTEGER PRIMARY KEY,
        canonical TEXT NOT NULL UNIQUE,  -- bot.search.Query.canonical
        fts       TEXT NOT NULL,         -- the FTS5 expression /search runs for it
        plan      TEXT NOT NULL          -- JSON: stemmed groups/exclusions for set-based pre-matching
    );
    -- A paper can only match a query if it contains one of the query's anchor stems.
    CREATE TABLE query_anchors (
        stem     TEXT    NOT NULL,
        query_id INTEGER NOT NULL REFERENCES queries (id) ON DELETE CASCADE,
        PRIMARY KEY (stem, query_id)
    ) WITHOUT ROWID;
    CREATE INDEX query_anchors_query ON query_anchors (query_id);

    ALTER TABLE topics ADD COLUMN query_id INTEGER REFERENCES queries (id);
    CREATE INDEX topics_query ON topics (query_id);
    ALTER TABLE feeds ADD COLUMN query_id INTEGER REFERENCES queries (id);
    ALTER TABLE feeds ADD COLUMN last_digest_at INTEGER;  -- the digest slot last claimed (unix seconds)
    CREATE INDEX feeds_query ON feeds (query_id);

    CREATE TABLE users (
        user_id         INTEGER PRIMARY KEY,
        dm_channel_id   INTEGER,
        dm_paused_at    INTEGER,  -- set when Discord says the user's DMs are closed (50007)
        dm_pause_code   INTEGER
    );

    -- The outbox: the single source of truth for what was sent, is pending, or failed.
    CREATE TABLE deliveries (
        id              INTEGER PRIMARY KEY,
        target_kind     TEXT    NOT NULL CHECK (target_kind IN ('channel', 'user')),
        target_id       INTEGER NOT NULL,  -- channel id or user id
        paper_id        TEXT    NOT NULL,  -- bare arXiv id
        guild_id        INTEGER,
        feed_id         INTEGER,           -- no foreign key: the row outlives a removed feed, so nothing reposts
        topic_id        INTEGER,
        status          TEXT    NOT NULL DEFAULT 'pending'
                        CHECK (status IN ('pending', 'sending', 'sent', 'failed', 'skipped')),
        created_at      INTEGER NOT NULL,
        batch           TEXT,              -- the message nonce this row is (being) sent with
        claimed_at      INTEGER,
        attempts        INTEGER NOT NULL DEFAULT 0,
        next_attempt_at INTEGER,
        message_id      INTEGER,
        sent_at         INTEGER,
        last_error      TEXT,
        last_error_code INTEGER,
        UNIQUE (target_kind, target_id, paper_id)
    );
    CREATE INDEX deliveries_open ON deliveries (target_kind, target_id, id) WHERE status IN ('pending', 'sending');
    CREATE INDEX deliveries_batch ON deliveries (batch) WHERE batch IS NOT NULL;
    CREATE INDEX deliveries_guild ON deliveries (guild_id, status);
    CREATE INDEX deliveries_sent ON deliveries (sent_at) WHERE status = 'sent';
    """,
    # /status "failing since": the first failure of the current run (last_error_at is rewritten on each one).
    """
    ALTER TABLE source_state ADD COLUMN failing_since INTEGER;
    UPDATE source_state SET failing_since = last_error_at WHERE consecutive_failures > 0;
    """,
    # sentence embeddings for semantic search and related papers (bot.semantic). One row per paper, written
    # by the background embedder; an edit of the title or abstract marks the row stale so it is re-encoded.
    """
    CREATE TABLE paper_embeddings (
        paper_pk  INTEGER PRIMARY KEY REFERENCES papers (pk) ON DELETE CASCADE,
        model     TEXT    NOT NULL,            -- the encoder that made it; another model re-embeds
        text_hash BLOB    NOT NULL,            -- of the encoded text: unchanged text is never re-encoded
        vector    BLOB    NOT NULL,            -- bot.semantic.vectors: float32 scale + int8 codes
        stale     INTEGER NOT NULL DEFAULT 0   -- 1: the text changed since it was encoded
    );
    CREATE INDEX paper_embeddings_stale ON paper_embeddings (paper_pk) WHERE stale = 1;
    CREATE TRIGGER paper_embeddings_text_changed AFTER UPDATE OF title, abstract ON papers
    WHEN old.title IS NOT new.title OR old.abstract IS NOT new.abstract
    BEGIN
        UPDATE paper_embeddings SET stale = 1 WHERE paper_pk = new.pk;
    END;
    """,
    # Members' libraries: the papers each member saved (Save button, /library). A paper stays in the
    # archive while saved; removing a paper from the archive removes it from every library.
    """
    CREATE TABLE library (
        user_id  INTEGER NOT NULL,
        paper_pk INTEGER NOT NULL REFERENCES papers (pk) ON DELETE CASCADE,
        saved_at INTEGER NOT NULL,
        PRIMARY KEY (user_id, paper_pk)
    ) WITHOUT ROWID;
    CREATE INDEX library_newest ON library (user_id, saved_at DESC);
    CREATE INDEX library_paper ON library (paper_pk);
    """,
    # Leases: one process of several sharing the database does a job (polling the sources); see bot/lease.py.
    """
    CREATE TABLE leases (
        name        TEXT    PRIMARY KEY,
        holder      TEXT    NOT NULL,  -- host:pid:random of the process holding it
        slot        TEXT    NOT NULL,  -- host and shards: a restart of the same slot takes its lease back at once
        expires_at  REAL    NOT NULL  -- unix seconds; after this another process may take the lease over
    );
    """,
    """
    -- A feed post that still needs its discussion thread: set with the post's 'sent', cleared once the thread
    -- exists (or Discord refused it for good), so a crash between the two is repaired on the next start.
    ALTER TABLE deliveries ADD COLUMN thread_wanted INTEGER NOT NULL DEFAULT 0;
    CREATE INDEX deliveries_thread_wanted ON deliveries (id) WHERE thread_wanted = 1;
    """,
    # /foryou weekly:true (bot/weekly.py): a member's weekly DM of recommendations. ``last_slot`` is the
    # weekly slot whose picks were queued, set in the same transaction as their outbox rows, so a restart
    # never queues a week twice; the outbox then sends each row exactly once. ``foryou_picks`` says which
    # saved paper each pick is close to, for the DM's header. Both go with the member (/mydata delete).
    """
    CREATE TABLE foryou_weekly (
        user_id    INTEGER PRIMARY KEY,
        enabled_at INTEGER NOT NULL,
        last_slot  INTEGER               -- epoch seconds of the last slot queued; NULL: none yet
    );
    CREATE TABLE foryou_picks (
        user_id  INTEGER NOT NULL,
        paper_id TEXT    NOT NULL,      -- the recommended paper (bare arXiv id), as in deliveries
        because  TEXT    NOT NULL,      -- the saved paper it is closest to
        slot     INTEGER NOT NULL,
        PRIMARY KEY (user_id, paper_id)
    ) WITHOUT ROWID;
    """,
    """
    -- DMs are capped where they are queued (bot.delivery.outbox): matches past a member's daily cap get no row,
    -- only this count, so the message that reaches the cap can still say how many more there were.
    ALTER TABLE users ADD COLUMN dm_held INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE users ADD COLUMN dm_held_day INTEGER;  -- midnight UTC (unix seconds) of the day dm_held counts
    -- DM rows have no server: keeping them out of this index saves one index write per queued DM.
    DROP INDEX deliveries_guild;
    CREATE INDEX deliveries_guild ON deliveries (guild_id, status) WHERE guild_id IS NOT NULL;
    """,
    """
    -- A source's own progress marker, written with the papers it covers. arXiv: the last listing day
    -- (YYYY-MM-DD) whose papers are all stored; a later listing seen past a gap starts a back-fill.
    ALTER TABLE source_state ADD COLUMN watermark TEXT;
    """,
    # FTS5 merges index segments off the write path (bot/db/fts.py): commits only flush, the bot's background
    # task merges while idle, and crisismerge (default 16 per level) remains the backstop.
    """
    INSERT INTO papers_fts (papers_fts, rank) VALUES ('automerge', 0);
    """,
    """
    -- The daily DM cap's held count is a lower bound when a poll pruned a member's queries (bot/db/dm_slots.py):
    -- the note then says "at least".
    ALTER TABLE users ADD COLUMN dm_held_at_least INTEGER NOT NULL DEFAULT 0;
    """,
    """
    -- Deliveries owed but not decided yet (bot/delivery/deciding.py). The storing transaction records its papers
    -- here; matching and the outbox rows then run outside the write lock, in short transactions, and the last one
    -- deletes the decision. A crash in between leaves it here to be finished, never forgotten.
    CREATE TABLE decisions (
        id            INTEGER PRIMARY KEY,
        now           INTEGER NOT NULL,  -- the storing clock (unix seconds): what "recent" and "today" mean
        written_below INTEGER            -- NULL: nothing written; else feed rows and DM rows of user ids below it
    );
    CREATE TABLE decision_papers (
        decision_id INTEGER NOT NULL REFERENCES decisions (id) ON DELETE CASCADE,
        paper_pk    INTEGER NOT NULL REFERENCES papers (pk) ON DELETE CASCADE,
        is_new      INTEGER NOT NULL,     -- new to the archive (its DM matches past the cap are counted)
        PRIMARY KEY (decision_id, paper_pk)
    ) WITHOUT ROWID;
    """,
]

SCHEMA_VERSION = len(MIGRATIONS)
