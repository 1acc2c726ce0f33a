"""SQLite schema as numbered migrations (PRAGMA user_version holds the applied number).

Append new migrations; never edit one that has shipped.
"""

MIGRATIONS: list[str] = [
    # 1: papers, provenance, full-text index kept in sync by triggers (same transaction).
    """
    CREATE TABLE papers (
        id TEXT PRIMARY KEY,
        arxiv_id TEXT UNIQUE,
        version INTEGER,
        title TEXT NOT NULL,
        abstract TEXT NOT NULL DEFAULT '',
        authors TEXT NOT NULL DEFAULT '[]',
        affiliations TEXT NOT NULL DEFAULT '[]',
        published TEXT, updated TEXT, hf_date TEXT, day TEXT,
        upvotes INTEGER, num_comments INTEGER,
        github_repo TEXT, github_stars INTEGER, project_page TEXT, organization TEXT,
        categories TEXT NOT NULL DEFAULT '[]', primary_category TEXT,
        ai_summary TEXT, ai_keywords TEXT NOT NULL DEFAULT '[]',
        comment TEXT, journal_ref TEXT, doi TEXT,
        links TEXT NOT NULL DEFAULT '{}',
        num_authors INTEGER,
        title_key TEXT NOT NULL,
        content_hash TEXT NOT NULL,
        created_at TEXT NOT NULL,
        changed_at TEXT NOT NULL
    );
    CREATE INDEX papers_title_key ON papers(title_key);
    CREATE INDEX papers_day ON papers(day);
    CREATE INDEX papers_published ON papers(published);
    CREATE INDEX papers_changed ON papers(changed_at);

    CREATE TABLE paper_sources (
        paper_id TEXT NOT NULL, source TEXT NOT NULL, ref TEXT NOT NULL DEFAULT '',
        first_seen TEXT NOT NULL,
        PRIMARY KEY (paper_id, source, ref)
    ) WITHOUT ROWID;

    CREATE TABLE aliases (alias TEXT PRIMARY KEY, paper_id TEXT NOT NULL) WITHOUT ROWID;

    CREATE VIRTUAL TABLE papers_fts USING fts5(
        title, abstract, authors,
        content='papers', content_rowid='rowid',
        tokenize='porter unicode61 remove_diacritics 2'
    );
    CREATE TRIGGER papers_ai AFTER INSERT ON papers BEGIN
        INSERT INTO papers_fts(rowid, title, abstract, authors)
        VALUES (new.rowid, new.title, new.abstract, new.authors);
    END;
    CREATE TRIGGER papers_ad AFTER DELETE ON papers BEGIN
        INSERT INTO papers_fts(papers_fts, rowid, title, abstract, authors)
        VALUES ('delete', old.rowid, old.title, old.abstract, old.authors);
    END;
    CREATE TRIGGER papers_au AFTER UPDATE OF title, abstract, authors ON papers BEGIN
        INSERT INTO papers_fts(papers_fts, rowid, title, abstract, authors)
        VALUES ('delete', old.rowid, old.title, old.abstract, old.authors);
        INSERT INTO papers_fts(rowid, title, abstract, authors)
        VALUES (new.rowid, new.title, new.abstract, new.authors);
    END;

    -- HF Daily Papers membership. A day never shrinks: a paper that HF moved to another
    -- day keeps its row here with moved_to set.
    CREATE TABLE day_papers (
        day TEXT NOT NULL, paper_id TEXT NOT NULL, source TEXT NOT NULL,
        rank INTEGER, first_seen TEXT NOT NULL, moved_to TEXT,
        PRIMARY KEY (day, paper_id)
    ) WITHOUT ROWID;

    CREATE TABLE runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        kind TEXT NOT NULL, started_at TEXT NOT NULL, finished_at TEXT,
        status TEXT NOT NULL DEFAULT 'running',
        params TEXT NOT NULL DEFAULT '{}', counts TEXT NOT NULL DEFAULT '{}',
        errors TEXT NOT NULL DEFAULT '[]'
    );

    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL) WITHOUT ROWID;
    """,
    # 2: enrichment, its cache and failures, daily reading, embedding vectors.
    """
    CREATE TABLE enrichments (
        paper_id TEXT PRIMARY KEY, method TEXT NOT NULL, model TEXT NOT NULL DEFAULT '',
        prompt_version TEXT NOT NULL DEFAULT '', input_hash TEXT NOT NULL DEFAULT '',
        data TEXT NOT NULL, created_at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE enrich_failures (
        paper_id TEXT PRIMARY KEY, reason TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 1,
        at TEXT NOT NULL
    ) WITHOUT ROWID;
    CREATE TABLE llm_cache (key TEXT PRIMARY KEY, value TEXT NOT NULL, created_at TEXT NOT NULL)
        WITHOUT ROWID;
    CREATE TABLE readings (day TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE vectors (
        paper_id TEXT NOT NULL, model TEXT NOT NULL, text_hash TEXT NOT NULL,
        vec BLOB NOT NULL,
        PRIMARY KEY (model, paper_id)
    ) WITHOUT ROWID;
    """,
    # 3: near-duplicate blocking keys (dedup.block_keys) of papers without an arXiv id, so a
    # listing paper whose title differs slightly from its arXiv record still merges into it.
    """
    CREATE TABLE title_blocks (
        key TEXT NOT NULL, paper_id TEXT NOT NULL,
        PRIMARY KEY (key, paper_id)
    ) WITHOUT ROWID;
    CREATE INDEX title_blocks_paper ON title_blocks(paper_id);
    """,
    # 4: fingerprints of raw archive records already imported: a re-import of the same file
    # skips them before parsing (ingest.py), which is what makes re-imports cheap.
    """
    CREATE TABLE import_seen (fp BLOB PRIMARY KEY) WITHOUT ROWID;
    """,
    # 5: new rows are indexed by one INSERT ... SELECT per upsert chunk, inside the same
    # transaction (store/sqlite/papers.py, upsert), instead of a trigger per row: 2.4x less
    # CPU on bulk imports. Updates and deletes keep their triggers.
    """
    DROP TRIGGER papers_ai;
    """,
    # 6: fingerprints become 64-bit integer keys: half the size of migration 4's blobs and
    # cheaper to insert in random order (a re-import after this re-reads records once).
    """
    DROP TABLE import_seen;
    CREATE TABLE import_seen (fp INTEGER PRIMARY KEY);
    """,
    # 7: FTS5 buffers up to 32 MB of new terms before writing a segment (default 1 MB): a
    # 20,000-paper import transaction then writes a few segments instead of dozens, and
    # spends less time merging them. Only writes are affected; queries are unchanged.
    """
    INSERT INTO papers_fts(papers_fts, rank) VALUES ('hashsize', 33554432);
    """,
    # 8: a counter that moves on every enrichment write, whichever code path wrote it: the
    # search engine keeps tags in memory (search/facets.py) and reloads them when it moves.
    """
    INSERT OR IGNORE INTO meta (key, value) VALUES ('enrichments_version', '0');
    CREATE TRIGGER enrichments_ver_i AFTER INSERT ON enrichments BEGIN
        UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'enrichments_version';
    END;
    CREATE TRIGGER enrichments_ver_u AFTER UPDATE ON enrichments BEGIN
        UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'enrichments_version';
    END;
    CREATE TRIGGER enrichments_ver_d AFTER DELETE ON enrichments BEGIN
        UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'enrichments_version';
    END;
    """,
    # 9: coverage: what each source said it has per period at its last collect (status).
    """
    CREATE TABLE coverage (
        source TEXT NOT NULL, period TEXT NOT NULL, expected INTEGER, collected INTEGER NOT NULL,
        errors INTEGER NOT NULL DEFAULT 0, run_id INTEGER, at TEXT NOT NULL,
        PRIMARY KEY (source, period)
    ) WITHOUT ROWID;
    """,
    # 10: the papers' images (title crop, teaser figure, HF thumbnail): one row per paper and
    # kind, a file name under the data dir's images/ or the reason there is none.
    """
    CREATE TABLE paper_images (
        paper_id TEXT NOT NULL,
        kind TEXT NOT NULL,
        file TEXT NOT NULL DEFAULT '',
        bytes INTEGER NOT NULL DEFAULT 0,
        width INTEGER NOT NULL DEFAULT 0,
        height INTEGER NOT NULL DEFAULT 0,
        hash TEXT NOT NULL DEFAULT '',
        source_hash TEXT NOT NULL DEFAULT '',
        source_url TEXT NOT NULL DEFAULT '',
        caption TEXT NOT NULL DEFAULT '',
        failure TEXT NOT NULL DEFAULT '',
        retry INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (paper_id, kind)
    ) WITHOUT ROWID;
    CREATE INDEX paper_images_updated ON paper_images(updated_at);
    """,
    # 11: counts of the Hugging Face models, datasets and Spaces that
    # cite a paper, and when its links (repo, stars, project page: papers columns) were refreshed.
    """
    CREATE TABLE paper_links (
        paper_id TEXT PRIMARY KEY, hf_models INTEGER, hf_datasets INTEGER, hf_spaces INTEGER,
        checked_at TEXT NOT NULL
    ) WITHOUT ROWID;
    """,
    # 12: the digest send log: one row per (profile, day, channel), so a rerun
    # sends nothing that went out and retries only what failed (digest/send.py).
    """
    CREATE TABLE digest_sends (
        profile TEXT NOT NULL, day TEXT NOT NULL, channel TEXT NOT NULL,
        status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 1,
        parts INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '', at TEXT NOT NULL,
        PRIMARY KEY (day, profile, channel)
    ) WITHOUT ROWID;
    CREATE INDEX papers_doi ON papers(lower(doi)) WHERE doi IS NOT NULL;
    """,
]
