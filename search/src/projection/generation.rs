//! One generation of the search index (a directory of its own) and the catalog
//! folded to the same position: opening it, loading the catalog up to its checkpoint,
//! applying batches of the log, writing the dirty documents and committing.

use super::*;

/// One generation of the index and the catalog folded to the same position.
pub(super) struct Generation {
    pub(super) number: u64,
    pub(super) dir: PathBuf,
    pub(super) writer: Option<IndexWriter>,
    pub(super) reader: IndexReader,
    pub(super) fields: Fields,
    pub(super) catalog: Catalog,
    /// SKUs that have a document in this generation (committed or not).
    pub(super) in_index: HashSet<String>,
    /// Last position folded into the catalog and the writer.
    pub(super) applied: i64,
    /// Position of the last commit.
    pub(super) committed: i64,
    /// When the oldest uncommitted document change was made.
    pub(super) pending_since: Option<Instant>,
}

impl Generation {
    /// Open (or create) the index in `dir`; returns it with the checkpoint of its last
    /// commit.
    pub(super) fn open(number: u64, dir: PathBuf) -> Result<(Self, i64), SearchError> {
        std::fs::create_dir_all(&dir)?;
        let (schema, fields) = schema::build();
        let index = Index::open_or_create(MmapDirectory::open(&dir)?, schema)?;
        schema::register_analyzers(&index);
        let checkpoint = index
            .load_metas()?
            .payload
            .and_then(|p| p.parse::<i64>().ok())
            .unwrap_or(0);
        let writer = index.writer(WRITER_MEMORY)?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok((
            Self {
                number,
                dir,
                writer: Some(writer),
                reader,
                fields,
                catalog: Catalog::default(),
                in_index: HashSet::new(),
                applied: 0,
                committed: 0,
                pending_since: None,
            },
            checkpoint,
        ))
    }

    /// Open the index in `dir` and fold the log into the catalog up to the index's
    /// checkpoint (the index already holds that much).
    pub(super) async fn load(
        db: &Database,
        number: u64,
        dir: PathBuf,
    ) -> Result<Self, SearchError> {
        let (mut generation, checkpoint) =
            tokio::task::spawn_blocking(move || Generation::open(number, dir))
                .await
                .map_err(|e| SearchError::Task(e.to_string()))??;
        loop {
            let records = db.read_after(generation.applied, BATCH).await?;
            let Some(last) = records.last().map(|r| r.position) else {
                break;
            };
            if records[0].position > checkpoint {
                break;
            }
            let upto: Vec<LogRecord> = records
                .into_iter()
                .filter(|r| r.position <= checkpoint)
                .collect();
            generation.apply(&upto, checkpoint)?;
            if last > checkpoint || upto.len() < BATCH as usize {
                break;
            }
        }
        generation.applied = generation.applied.max(checkpoint);
        generation.committed = generation.applied;
        Ok(generation)
    }

    pub(super) fn view(&self) -> View {
        View {
            searcher: self.reader.searcher(),
            position: self.committed,
            fields: self.fields.clone(),
            signals: self.catalog.signals.clone(),
        }
    }

    /// Fold records into the catalog; write the documents they changed unless the
    /// index already holds them (`index_from`: positions up to it are in the index).
    pub(super) fn apply(
        &mut self,
        records: &[LogRecord],
        index_from: i64,
    ) -> Result<(), SearchError> {
        let Some(last) = records.last().map(|r| r.position) else {
            return Ok(());
        };
        let mut dirty = HashSet::new();
        self.catalog.apply(records, &mut dirty)?;
        if last <= index_from {
            // The index has all of this already: only learn which SKUs it holds.
            for sku in dirty {
                if self.catalog.product(&sku).is_some() {
                    self.in_index.insert(sku);
                } else {
                    self.in_index.remove(&sku);
                }
            }
        } else {
            self.write_documents(dirty)?;
        }
        self.applied = last;
        if self.pending_since.is_none() && self.applied > self.committed {
            // Nothing to commit: the searcher already shows everything up to here.
            self.committed = self.applied;
        }
        Ok(())
    }

    pub(super) fn write_documents(&mut self, dirty: HashSet<String>) -> Result<(), SearchError> {
        if dirty.is_empty() {
            return Ok(());
        }
        let writer = self
            .writer
            .as_ref()
            .expect("the writer is back after a commit");
        for sku in dirty {
            if self.in_index.contains(&sku) {
                writer.delete_term(Term::from_field_text(self.fields.sku, &sku));
            }
            match self.catalog.product(&sku) {
                Some(record) => {
                    writer.add_document(schema::document(&self.fields, record))?;
                    self.in_index.insert(sku);
                }
                None => {
                    self.in_index.remove(&sku);
                }
            }
        }
        self.pending_since.get_or_insert_with(Instant::now);
        Ok(())
    }

    /// Commit what was applied, with its position as the payload, and reload.
    pub(super) async fn commit(&mut self) -> Result<(), SearchError> {
        let mut writer = self.writer.take().expect("one commit at a time");
        let reader = self.reader.clone();
        let position = self.applied;
        let (writer, result) = tokio::task::spawn_blocking(move || {
            let result = (|| {
                let mut prepared = writer.prepare_commit()?;
                prepared.set_payload(&position.to_string());
                prepared.commit()?;
                reader.reload()
            })();
            (writer, result)
        })
        .await
        .map_err(|e| SearchError::Task(e.to_string()))?;
        self.writer = Some(writer);
        result?;
        self.committed = position;
        self.pending_since = None;
        Ok(())
    }

    /// Whether a commit is due: changes waited `interval`, or someone waits for them.
    pub(super) fn commit_due(&self, wanted: i64, interval: Duration) -> bool {
        match self.pending_since {
            None => false,
            Some(since) => {
                since.elapsed() >= interval || (wanted > self.committed && wanted <= self.applied)
            }
        }
    }
}
