//! The findings table: each finding judged while recording (`record::live`), one row per time
//! it held, written with the notes that say it in one transaction.

use super::codec;
use super::open::{DbResult, StoreError};
use super::schema::{FINDINGS, FindingRec, format};
use redb::{Database, ReadTransaction, ReadableTable, ReadableTableMetadata};

/// Writes (or rewrites) finding rows by id, and notes, in one transaction (durable as the
/// snapshots are).
pub fn write(
    db: &Database,
    rows: &[(u64, FindingRec)],
    notes: &[super::notes::NewNote],
    durable: bool,
) -> Result<(), StoreError> {
    if rows.is_empty() && notes.is_empty() {
        return Ok(());
    }
    let mut txn = db.begin_write().db()?;
    if !durable {
        txn.set_durability(redb::Durability::None).db()?;
    }
    {
        let mut t = txn.open_table(FINDINGS).db()?;
        for (id, rec) in rows {
            t.insert(*id, codec::encode(format::FINDING_V1, rec).as_slice())
                .db()?;
        }
    }
    super::notes::insert(&txn, notes)?;
    txn.commit().db()?;
    Ok(())
}

/// Every finding row, by id (none in a file from before the table).
pub fn read(txn: &ReadTransaction) -> Result<Vec<(u64, FindingRec)>, StoreError> {
    let t = match txn.open_table(FINDINGS) {
        Ok(t) => t,
        Err(redb::TableError::TableDoesNotExist(_)) => return Ok(Vec::new()),
        Err(e) => return Err(StoreError::Db(e.into())),
    };
    let mut out = Vec::with_capacity(t.len().db()? as usize);
    for e in t.iter().db()? {
        let (k, v) = e.db()?;
        let id = k.value();
        let rec: FindingRec = codec::decode(format::FINDING_V1, v.value())
            .map_err(|e| StoreError::corrupt(format!("finding {id}"), e))?;
        out.push((id, rec));
    }
    Ok(out)
}
