//! The PostgreSQL store's pooled connections, each with the statements it prepared.
//!
//! `query_typed` is one round trip, but the database parses and plans its statement on every
//! call. In a reconnect burst every request runs the same few reads; planning them was the
//! largest part of the database's work (`pg_stat_statements` over the scale bench's burst:
//! the device of a token, a five-table join, 0.38 ms of planning per call, 383 ms of the
//! burst). A hot statement is therefore prepared once per connection, by its text, and
//! executed by name afterwards: one round trip, nothing parsed again, and after five
//! executions the database keeps one generic plan (54 plans for 1,000 calls).
//!
//! Which statements: those keyed by single values (a token's hash, a document's id) and the
//! commit's fixed statements. A statement over an array (`= ANY($1)`) stays planned per call:
//! its best plan depends on the array, and a generic plan of `audit_log`'s entry ids kept from
//! when the log was small scanned it whole (847 ms over the burst instead of 5). One exception,
//! the documents a sync sees over arrays (`visible_documents`, every sync's read): prepared to
//! save its parse, though the database still plans it per call (its generic plan, costed for
//! ten teams per array, looks dearer than the custom one for one team). Its common shape, one
//! team and the municipality's library, is a statement of its own keyed by the two values,
//! whose generic plan is kept: planning the array form was 60 % of that read's database time
//! with 50 clients (`pg_stat_statements`, 2026-12-04). A generic plan
//! made on a table still small is replaced when autovacuum analyzes the grown table (that
//! invalidates it). Only `&'static str` statements are kept, so the cache is bounded by the
//! program's text.
//!
//! A prepared statement belongs to the session, not to a transaction: one prepared inside a
//! transaction that rolls back stays usable.

use postgres::types::{ToSql, Type};
use postgres::{Client, GenericClient, Row, Statement};
use r2d2_postgres::r2d2::{self, ManageConnection};
use r2d2_postgres::PostgresConnectionManager;
use std::collections::HashMap;
use std::ops::{Deref, DerefMut};
use tokio_postgres_rustls::MakeRustlsConnect;

/// A client and the statements prepared on it.
pub(super) struct PreparedClient {
    client: Client,
    prepared: Prepared,
}

impl PreparedClient {
    /// The client and its statements apart, so a transaction borrowing the client can use
    /// them.
    pub(super) fn split(&mut self) -> (&mut Client, &mut Prepared) {
        (&mut self.client, &mut self.prepared)
    }

    /// A plain client with nothing prepared yet, for a unit test.
    #[cfg(test)]
    pub(super) fn for_test(client: Client) -> Self {
        PreparedClient {
            client,
            prepared: Prepared::default(),
        }
    }

    /// [`Prepared::query`] on this connection.
    pub(super) fn query_prepared(
        &mut self,
        sql: &'static str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, postgres::Error> {
        self.prepared.query(&mut self.client, sql, params)
    }

    /// [`Prepared::query_opt`] on this connection.
    pub(super) fn query_prepared_opt(
        &mut self,
        sql: &'static str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Option<Row>, postgres::Error> {
        self.prepared.query_opt(&mut self.client, sql, params)
    }
}

/// The statements one connection prepared, by their text.
#[derive(Default)]
pub(super) struct Prepared(HashMap<&'static str, Statement>);

impl Prepared {
    /// `sql` with `params` (values and their types, as for `query_typed`), prepared on
    /// `client`'s connection the first time. `client` must be that connection or a
    /// transaction on it.
    pub(super) fn query(
        &mut self,
        client: &mut impl GenericClient,
        sql: &'static str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Vec<Row>, postgres::Error> {
        let statement = self.statement(client, sql, params)?;
        let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
        client.query(&statement, &values)
    }

    /// [`Prepared::query`] answering at most one row.
    pub(super) fn query_opt(
        &mut self,
        client: &mut impl GenericClient,
        sql: &'static str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Option<Row>, postgres::Error> {
        let statement = self.statement(client, sql, params)?;
        let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
        client.query_opt(&statement, &values)
    }

    /// [`Prepared::query`] for a statement answering no rows: how many rows it wrote.
    pub(super) fn execute(
        &mut self,
        client: &mut impl GenericClient,
        sql: &'static str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<u64, postgres::Error> {
        let statement = self.statement(client, sql, params)?;
        let values: Vec<&(dyn ToSql + Sync)> = params.iter().map(|(v, _)| *v).collect();
        client.execute(&statement, &values)
    }

    fn statement(
        &mut self,
        client: &mut impl GenericClient,
        sql: &'static str,
        params: &[(&(dyn ToSql + Sync), Type)],
    ) -> Result<Statement, postgres::Error> {
        if let Some(statement) = self.0.get(sql) {
            return Ok(statement.clone());
        }
        let types: Vec<Type> = params.iter().map(|(_, t)| t.clone()).collect();
        let statement = client.prepare_typed(sql, &types)?;
        self.0.insert(sql, statement.clone());
        Ok(statement)
    }

    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.0.len()
    }
}

/// r2d2's PostgreSQL manager, its connections keeping what they prepared.
pub(super) struct Manager(pub(super) PostgresConnectionManager<MakeRustlsConnect>);

impl std::fmt::Debug for Manager {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Manager")
    }
}

impl ManageConnection for Manager {
    type Connection = PreparedClient;
    type Error = postgres::Error;

    fn connect(&self) -> Result<PreparedClient, postgres::Error> {
        Ok(PreparedClient {
            client: self.0.connect()?,
            prepared: Prepared::default(),
        })
    }

    fn is_valid(&self, conn: &mut PreparedClient) -> Result<(), postgres::Error> {
        self.0.is_valid(&mut conn.client)
    }

    fn has_broken(&self, conn: &mut PreparedClient) -> bool {
        self.0.has_broken(&mut conn.client)
    }
}

/// A connection taken from the pool: a [`Client`] as it stands (the rare paths use it so), and
/// its statements through [`Conn::prepared`].
pub(super) struct Conn(pub(super) r2d2::PooledConnection<Manager>);

impl Conn {
    pub(super) fn prepared(&mut self) -> &mut PreparedClient {
        &mut self.0
    }
}

impl Deref for Conn {
    type Target = Client;
    fn deref(&self) -> &Client {
        &self.0.client
    }
}

impl DerefMut for Conn {
    fn deref_mut(&mut self) -> &mut Client {
        &mut self.0.client
    }
}

/// A plain connection to the test cluster of `scripts/with-postgres` (`HOMEREHAB_TEST_POSTGRES`)
/// for a unit test; `None`, said on stderr, when there is none (the test then passes untested).
#[cfg(test)]
pub(super) fn test_client() -> Option<Client> {
    let Some(url) = std::env::var("HOMEREHAB_TEST_POSTGRES")
        .ok()
        .filter(|u| !u.is_empty())
    else {
        eprintln!("HOMEREHAB_TEST_POSTGRES is not set: PostgreSQL not tested");
        return None;
    };
    Some(Client::connect(&url, postgres::NoTls).expect("the test cluster answers"))
}

/// A database of its own on the test cluster (`test_client`'s), dropped with this guard, for a
/// test that opens several connections or a store on it.
#[cfg(test)]
pub(super) struct TestDatabase {
    admin: Client,
    name: String,
    pub(super) url: String,
}

#[cfg(test)]
impl TestDatabase {
    /// A new database named from `prefix`; `None` (said) without a test cluster.
    pub(super) fn create(prefix: &str) -> Option<TestDatabase> {
        let mut admin = test_client()?;
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        admin
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .unwrap();
        let url = std::env::var("HOMEREHAB_TEST_POSTGRES").unwrap();
        let url = format!("{}/{name}", url.rsplit_once('/').unwrap().0);
        Some(TestDatabase { admin, name, url })
    }

    pub(super) fn connect(&self) -> Client {
        Client::connect(&self.url, postgres::NoTls).unwrap()
    }
}

#[cfg(test)]
impl Drop for TestDatabase {
    fn drop(&mut self) {
        let _ = self
            .admin
            .batch_execute(&format!("DROP DATABASE {} WITH (FORCE)", self.name));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A statement is prepared once per text, and one prepared inside a transaction that
    /// rolled back is still the session's. Needs a PostgreSQL server (`scripts/with-postgres`);
    /// says so and passes without.
    #[test]
    fn a_statement_is_prepared_once_and_outlives_a_rolled_back_transaction() {
        let Some(mut client) = test_client() else {
            return;
        };
        let mut prepared = Prepared::default();
        let plus_one = "SELECT $1 + 1";
        for n in [1i64, 41] {
            let rows = prepared
                .query(&mut client, plus_one, &[(&n, Type::INT8)])
                .unwrap();
            assert_eq!(rows[0].get::<_, i64>(0), n + 1);
        }
        assert_eq!(prepared.len(), 1);

        let times_two = "SELECT $1 * 2";
        let mut tx = client.transaction().unwrap();
        let row = prepared
            .query_opt(&mut tx, times_two, &[(&4i64, Type::INT8)])
            .unwrap();
        assert_eq!(row.unwrap().get::<_, i64>(0), 8);
        tx.rollback().unwrap();
        assert_eq!(prepared.len(), 2);
        let row = prepared
            .query_opt(&mut client, times_two, &[(&5i64, Type::INT8)])
            .unwrap();
        assert_eq!(row.unwrap().get::<_, i64>(0), 10);
        assert_eq!(prepared.len(), 2);
    }
}
