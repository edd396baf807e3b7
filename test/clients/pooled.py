#!/usr/bin/python3
"""Concurrent clients through pgbouncer (transaction pooling), checked against the SQL oracle.

Run by test/clients/run, which loads fixture.sql and oracle.sql into a fresh database and starts
pgbouncer; see there.  Each client is a thread with its own connection to pgbouncer: most are the
pooled application (territory_clients_app, which sets territory.user per transaction), a few are
Carol, who logs in with her own role.  Every read is compared, in the same statement and so the
same snapshot, with the oracle evaluated for the identity the client set.  Prints TAP.
"""
import argparse
import os
import random
import sys
import threading
import time

import psycopg2
import psycopg2.errors

TABLES = ('accounts', 'contacts', 'deals')
KINDS = ('account', 'contact', 'deal')
ACCESSES = ('read', 'edit')
# where a written account goes: every rule, a country without one, no country, a city without one
PLACES = [('DE', 'Berlin'), ('DE', 'Munich'), ('DE', 'Hamburg'), ('DE', None), ('FR', 'Paris'), ('FR', None),
          ('UK', None), ('ES', None), ('IT', None), ('US', 'New York'), ('US', 'San Francisco'), ('US', None),
          ('CA', None), ('BR', None), ('MX', None), ('JP', 'Tokyo'), ('JP', None), ('AU', None), ('IN', None),
          ('SG', None), ('XX', None), (None, None)]
LONG_KEY = 'long_' + 'x' * 121 + 'z'
# keys that name nobody: case, spaces, one byte more or less than a 127-byte key
UNKNOWN_KEYS = ['nobody', 'ADMIN', 'admin ', ' admin', LONG_KEY + 'y', LONG_KEY[:-1], 'legacy_owner']

# The checks, in the order of the TAP lines: name -> description.
CHECKS = {
    'start': 'no identity carried over: territory.user empty, current_user_id() the login\'s, '
             'no rows, at the start of every transaction',
    'identity': 'current_user_id(), sees_all(), visible_owners(), visible_territories() and the setting '
                'equal the oracle',
    'territories': 'visible_territories(kind, access) for every kind and access equals the oracle',
    'accounts': 'accounts through the policies (count, ids, an id range) equal the oracle',
    'contacts': 'contacts through the policies (count, ids, an id range) equal the oracle',
    'deals': 'deals through the policies (count, ids, an id range) equal the oracle',
    'editable': 'the accounts SELECT ... FOR UPDATE locks (update policy) equal what the oracle lets the user edit',
    'probes': 'can_read() and can_edit() called from PL/pgSQL equal the oracle',
    'nobody': 'no identity, an empty or unknown key, an inactive user: no rows',
    'switch': 'identity switched inside a transaction (set_config, a prepared plan, a savepoint '
              'rolled back, a function\'s SET clause): every read equals the oracle',
    'writes': 'writes do what the oracle predicts (done, refused with 42501, or no row)',
    'own': 'the writer\'s own writes are visible to its following reads, in the same transaction',
    'impersonation': 'a login without SET on territory.user cannot set it',
    'errors': 'no unexpected error in any client',
}


class Tally:
    """Counts the comparisons of each check and keeps its first failures."""

    def __init__(self):
        self.lock = threading.Lock()
        self.count = dict.fromkeys(CHECKS, 0)
        self.failed = dict.fromkeys(CHECKS, 0)
        self.notes = {name: [] for name in CHECKS}

    def check(self, name, ok, what):
        """Counts one comparison; what() describes a failure."""
        with self.lock:
            self.count[name] += 1
            if not ok:
                self.failed[name] += 1
                if len(self.notes[name]) < 5:
                    self.notes[name].append(what())
        return ok


def differ(want, got):
    """The first ids of each side that the other lacks."""
    w, g = set(want), set(got)
    return 'missing %s, unexpected %s' % (sorted(w - g)[:8], sorted(g - w)[:8])


class Shared:
    """What the clients share: the checks, the last identity on each server connection, the writes
    that committed."""

    def __init__(self, args, users):
        self.args = args
        self.users = users           # key -> active
        self.keys = sorted(users)
        self.tally = Tally()
        self.lock = threading.Lock()
        self.last = {}               # (role, backend pid) -> (client, transaction, key) of its last transaction
        self.pids = {}               # role -> backend pids seen
        self.after_other_identity = 0
        self.after_other_client = 0
        self.transactions = 0
        self.committed = []          # the writes of committed transactions
        self.writes = dict.fromkeys(('insert', 'update', 'delete', 'contact', 'deal'), 0)
        self.outcomes = dict.fromkeys(('done', 'refused', 'none'), 0)
        self.deadline = time.monotonic() + args.deadline
        self.cut = False             # a client stopped at the deadline


class Client(threading.Thread):
    def __init__(self, no, role, password, shared, partition):
        super().__init__(name='client %d' % no)
        self.no = no
        self.role = role
        self.password = password
        self.app = role == shared.args.app_role
        self.shared = shared
        self.tally = shared.tally
        self.rnd = random.Random(shared.args.seed * 1000 + no)
        self.partition = partition   # the fixture's accounts only this client updates or deletes
        self.mine = set(partition)
        self.conn = None
        self.cur = None
        self.key = None              # territory.user as this transaction set it (None: not set)
        self.ctx = ''
        self.pending = []            # this transaction's writes

    # ---------------------------------------------------------------- plumbing

    def connect(self):
        args = self.shared.args
        self.conn = psycopg2.connect(host='127.0.0.1', port=args.pooler_port, dbname=args.db, user=self.role,
                                     password=self.password, connect_timeout=20)
        self.conn.autocommit = True  # BEGIN and COMMIT are ours
        self.cur = self.conn.cursor()

    def one(self, sql, params=None):
        self.cur.execute(sql, params)
        return self.cur.fetchone()

    def all(self, sql, params=None):
        self.cur.execute(sql, params)
        return self.cur.fetchall()

    def who(self):
        """The oracle's arguments naming the identity: the key set, and the role for the login."""
        return (self.key, self.role)

    def check(self, name, ok, what):
        return self.tally.check(name, ok, lambda: '%s: %s' % (self.ctx, what()))

    def same(self, name, label, want, got):
        want, got = sorted(want or []), sorted(got or [])
        return self.check(name, want == got,
                          lambda: '%s: expected %d, got %d; %s' % (label, len(want), len(got), differ(want, got)))

    def run(self):
        try:
            self.connect()
        except Exception as e:  # noqa: BLE001 - reported as a failed check
            self.tally.check('errors', False, lambda e=e: 'client %d cannot connect: %s' % (self.no, e))
            return
        for t in range(self.shared.args.transactions):
            if time.monotonic() > self.shared.deadline:
                self.shared.cut = True
                break
            try:
                self.transaction(t)
                self.tally.check('errors', True, None)
            except Exception as e:  # noqa: BLE001 - reported, and the client goes on
                self.tally.check('errors', False, lambda e=e: '%s: %s: %s' % (self.ctx, type(e).__name__,
                                                                               str(e).strip()))
                self.pending = []
                try:
                    if self.conn.closed:
                        self.connect()
                    else:
                        self.cur.execute('ROLLBACK')
                except Exception:  # noqa: BLE001 - the next transaction reconnects or fails again
                    pass
        if self.conn is not None:
            self.conn.close()

    # ---------------------------------------------------------------- one transaction

    def pick_key(self):
        """A key to set: usually a user's (active or not), sometimes one naming nobody."""
        r = self.rnd
        return r.choice(UNKNOWN_KEYS) if r.random() < 0.12 else r.choice(self.shared.keys)

    def sees_nothing(self):
        """Whether the current identity names nobody, by what the client knows (not the oracle)."""
        if self.key:
            return not self.shared.users.get(self.key, False)
        return self.app        # the application's role is nobody's login; Carol's is hers

    def transaction(self, t):
        r = self.rnd
        writing = r.random() < 0.35
        switching = self.app and not writing and r.random() < 0.15
        isolation = 'REPEATABLE READ' if not writing and r.random() < 0.4 else 'READ COMMITTED'
        # the identity: none, empty, or a key by SET LOCAL or set_config(); Carol: her login
        how, self.key = 'her login', None
        if self.app:
            how = r.choice(('none', 'empty') + ('set local',) * 5 + ('set_config',) * 3)
            self.key = {'none': None, 'empty': ''}.get(how) if how in ('none', 'empty') else self.pick_key()
        self.ctx = 'client %d (%s) transaction %d as %r (%s), %s' % (self.no, self.role, t, self.key, how, isolation)
        self.cur.execute('BEGIN ISOLATION LEVEL ' + isolation)
        self.check_start(t)
        if how == 'set local':
            self.cur.execute('SET LOCAL territory."user" = %s', (self.key,))
        elif how in ('set_config', 'empty'):
            self.cur.execute("SELECT set_config('territory.user', %s, true)", (self.key,))
        elif not self.app and r.random() < 0.3:
            self.impersonate()
        self.read_identity()
        for table in TABLES:
            if table == 'accounts' or r.random() < 0.6:
                self.read_table(table)
        if r.random() < 0.4:
            self.read_per_kind('territories', 'territory.visible_territories(k, a)', 'oracle.territories(o.id, k, a)',
                               'visible_territories(%s, %s)')
        if r.random() < 0.3:
            self.read_per_kind('probes', 'crm.probe(k, a)', "oracle.visible_ids('probes', o.id, a, k)",
                               'crm.probes ids a record of kind %s may %s')
        if r.random() < 0.3:
            self.read_editable()
        if writing:
            for _ in range(r.randint(1, 3)):
                getattr(self, 'write_' + r.choice(('insert', 'insert', 'update', 'update', 'delete')))()
            for table in TABLES:
                self.read_table(table)
        if switching:
            self.switch(t)
        commit = r.random() < (0.8 if writing else 0.5)
        self.cur.execute('COMMIT' if commit else 'ROLLBACK')
        with self.shared.lock:
            self.shared.transactions += 1
            if commit:
                self.shared.committed.extend(self.pending)
        self.pending = []

    def check_start(self, t):
        """The server connection this transaction got must carry no identity from the last one."""
        pid, setting, uid, n, want_uid = self.one(
            "SELECT pg_backend_pid(), current_setting('territory.user', true), territory.current_user_id(),"
            " (SELECT count(*) FROM crm.accounts), oracle.who(NULL, %s)", (self.role,))
        self.ctx += ' on backend %d' % pid
        with self.shared.lock:
            previous = self.shared.last.get((self.role, pid))
            self.shared.last[(self.role, pid)] = (self.no, t, self.key)
            self.shared.pids.setdefault(self.role, set()).add(pid)
            if previous is not None and previous[0] != self.no:
                self.shared.after_other_client += 1
            if previous is not None and previous[2] != self.key:
                self.shared.after_other_identity += 1
        self.check('start', setting in ('', None) and uid == want_uid and (want_uid is not None or n == 0),
                   lambda: 'at its start (the last transaction on this backend: client %s transaction %s as %r) '
                           'territory.user = %r, current_user_id() = %r (expected %r), %d accounts visible'
                           % ((previous or (None, None, None)) + (setting, uid, want_uid, n)))

    # ---------------------------------------------------------------- reads

    def read_identity(self):
        (setting, uid, sees_all, owners, terrs, want_uid, want_sees_all, want_owners,
         want_terrs) = self.one(
            "SELECT current_setting('territory.user'), territory.current_user_id(), territory.sees_all(),"
            " territory.visible_owners(), territory.visible_territories(),"
            " o.id, oracle.sees_all(o.id), oracle.owners(o.id), oracle.territories(o.id, 'account', 'read')"
            " FROM (SELECT oracle.who(%s, %s) AS id) o", self.who())
        got = (setting, uid, sees_all, sorted(owners or []), sorted(terrs or []))
        want = (self.key or '', want_uid, want_sees_all, sorted(want_owners), sorted(want_terrs))
        self.check('identity', got == want, lambda: 'expected (setting, user id, sees_all, owners, territories) '
                                                    '%r, got %r' % (want, got))

    def read_table(self, table):
        lo = self.rnd.randint(1, 3000)
        hi = lo + self.rnd.randint(0, 300)
        n, ids, part, want = self.one(
            "SELECT (SELECT count(*) FROM crm.{0}), (SELECT coalesce(array_agg(id ORDER BY id), '{{}}') FROM crm.{0}),"
            " (SELECT coalesce(array_agg(id ORDER BY id), '{{}}') FROM crm.{0} WHERE id BETWEEN %s AND %s),"
            " oracle.visible_ids(%s, oracle.who(%s, %s))".format(table), (lo, hi, table) + self.who())
        self.check(table, n == len(want), lambda: 'count(*): expected %d, got %d' % (len(want), n))
        self.same(table, 'ids', want, ids)
        self.same(table, 'ids %d..%d' % (lo, hi), [i for i in want if lo <= i <= hi], part)
        if self.sees_nothing():
            self.check('nobody', n == 0 and not ids, lambda: '%d %s visible' % (n, table))

    def read_per_kind(self, name, got, want, label):
        """A read for every kind and access, with the oracle's answer: got and want are SQL of k
        (the kind), a (the access) and o.id (the oracle's user)."""
        for kind, access, g, w in self.all(
                "SELECT k, a, %s, %s FROM (SELECT oracle.who(%%s, %%s) AS id) o,"
                " unnest(%%s::text[]) k, unnest(%%s::text[]) a" % (got, want),
                self.who() + (list(KINDS), list(ACCESSES))):
            self.same(name, label % (kind, access), w, g)

    def read_editable(self):
        """Locks this client's own accounts through the update policy: only it writes them."""
        n, first, last = self.shared.args.clients, self.partition[0], self.partition[-1]
        got, want = self.one(
            "SELECT (SELECT coalesce(array_agg(id ORDER BY id), '{}') FROM"
            "         (SELECT id FROM crm.accounts WHERE id %% %s = %s AND id BETWEEN %s AND %s FOR UPDATE) s),"
            " oracle.visible_ids('accounts', oracle.who(%s, %s), 'edit')",
            (n, self.no % n, first, last) + self.who())
        self.same('editable', 'editable own accounts', [i for i in want if i in self.mine], got)

    # ---------------------------------------------------------------- identity switched inside

    def impersonate(self):
        """Carol has no SET on territory.user: both ways of setting it must fail with 42501."""
        for sql in ('SET LOCAL territory."user" = %s', "SELECT set_config('territory.user', %s, true)"):
            self.cur.execute('SAVEPOINT impersonate')
            try:
                self.cur.execute(sql, ('admin',))
                refused = False
            except psycopg2.errors.InsufficientPrivilege:
                refused = True
            self.cur.execute('ROLLBACK TO SAVEPOINT impersonate')
            self.check('impersonation', refused, lambda sql=sql: '%s as Carol succeeded' % sql)

    def switch(self, t):
        """Switches users in the transaction: set_config before each run of a prepared plan (a
        generic plan after five runs), SET LOCAL in a savepoint rolled back, a function's SET."""
        name = 'switch_%d_%d' % (self.no, t)
        self.cur.execute("PREPARE %s(text, name) AS SELECT (SELECT coalesce(array_agg(id ORDER BY id), '{}')"
                         " FROM crm.accounts), oracle.visible_ids('accounts', oracle.who($1, $2))" % name)
        try:
            for i in range(7):
                self.key = self.pick_key()
                self.cur.execute("SELECT set_config('territory.user', %s, true)", (self.key,))
                got, want = self.one('EXECUTE %s(%%s, %%s)' % name, self.who())
                self.same('switch', 'prepared run %d as %r' % (i + 1, self.key), want, got)
            outer = self.key
            self.cur.execute('SAVEPOINT switch')
            self.key = self.pick_key()
            self.cur.execute('SET LOCAL territory."user" = %s', (self.key,))
            got, want = self.one('EXECUTE %s(%%s, %%s)' % name, self.who())
            self.same('switch', 'in a savepoint as %r' % self.key, want, got)
            self.cur.execute('ROLLBACK TO SAVEPOINT switch')
            self.key = outer
            got, want = self.one('EXECUTE %s(%%s, %%s)' % name, self.who())
            self.same('switch', 'after the savepoint rolled back, as %r again' % outer, want, got)
            setting, got, want = self.one(
                "SELECT current_setting('territory.user'), crm.accounts_as_admin(),"
                " oracle.visible_ids('accounts', oracle.who('admin', %s))", (self.role,))
            self.same('switch', "crm.accounts_as_admin() (SET territory.user = 'admin')", want, got)
            self.check('switch', setting == outer, lambda: 'territory.user after the savepoint and the function: '
                                                           '%r, expected %r' % (setting, outer))
            self.read_identity()
        finally:
            if self.conn.get_transaction_status() != psycopg2.extensions.TRANSACTION_STATUS_INERROR:
                self.cur.execute('DEALLOCATE %s' % name)

    # ---------------------------------------------------------------- writes

    def attempt(self, sql, params):
        """Runs a write in a savepoint: ('done', rows) or ('none', []) by the rows it returns,
        ('refused', []) on 42501."""
        self.cur.execute('SAVEPOINT w')
        try:
            rows = self.all(sql, params)
        except psycopg2.errors.InsufficientPrivilege:
            self.cur.execute('ROLLBACK TO SAVEPOINT w')
            return 'refused', []
        self.cur.execute('RELEASE SAVEPOINT w')
        return ('done' if rows else 'none'), rows

    def outcome(self, what, want, got):
        with self.shared.lock:
            self.shared.outcomes[got] += 1
        return self.check('writes', want == got, lambda: '%s: expected %s, got %s' % (what, want, got))

    def place(self):
        country, city = self.rnd.choice(PLACES)
        return country, city, 'key' if self.rnd.random() < 0.2 else None

    def owner(self):
        """Who a new record is given to: the writer, a random user, nobody."""
        return self.rnd.choice([self.key, self.key, None, self.rnd.choice(self.shared.keys)])

    def write_insert(self):
        country, city, tier = self.place()
        owner = self.owner()
        terrs, can, deal_territory = self.one(
            "SELECT o.t, oracle.can(o.id, 'account', 'edit', o.t, %s), oracle.deal_territory(o.t)"
            " FROM (SELECT oracle.rule_territories(%s, %s, %s) AS t, oracle.who(%s, %s) AS id) o",
            (owner, country, city, tier) + self.who())
        what = 'INSERT account %s/%s/%s owner %r' % (country, city, tier, owner)
        got, rows = self.attempt('INSERT INTO crm.accounts (name, country, city, tier, owner_id)'
                                 ' VALUES (%s, %s, %s, %s, %s) RETURNING id, territories',
                                 ('new ' + self.ctx, country, city, tier, owner))
        self.count('insert')
        if not self.outcome(what, 'done' if can else 'refused', got) or got != 'done':
            return
        aid, got_terrs = rows[0]
        self.same('writes', what + ' territories', terrs, got_terrs)
        self.pending.append(('insert', aid, (country, city, tier, owner)))
        self.own_row(aid, (country, city, tier, owner))
        # a contact and a deal of the new account: they take its territories
        deal = [deal_territory] if deal_territory is not None else []
        for table, kind, terr, columns in (('contacts', 'contact', terrs, 'name'),
                                           ('deals', 'deal', deal, 'amount')):
            owner = self.owner()
            can, = self.one("SELECT oracle.can(oracle.who(%s, %s), %s, 'edit', %s, %s)",
                            self.who() + (kind, terr, owner))
            got, rows = self.attempt('INSERT INTO crm.%s (account_id, owner_id, %s) VALUES (%%s, %%s, %%s)'
                                     ' RETURNING id' % (table, columns),
                                     (aid, owner, 'c' if kind == 'contact' else 100))
            self.count(kind)
            if self.outcome('INSERT %s of account %d owner %r' % (kind, aid, owner), 'done' if can else 'refused',
                            got) and got == 'done':
                self.pending.append((kind, rows[0][0], aid))
                seen, = self.one('SELECT count(*) FROM crm.%s WHERE id = %%s' % table, (rows[0][0],))
                self.check('own', seen == 1, lambda: 'the %s %d it inserted is not visible' % (kind, rows[0][0]))

    def own_row(self, aid, values):
        """The account the writer just inserted or changed: visible, with what it wrote."""
        rows = self.all('SELECT country, city, tier, owner_id FROM crm.accounts WHERE id = %s', (aid,))
        self.check('own', rows == [values], lambda: 'account %d: expected %r, got %r' % (aid, values, rows))

    def write_update(self):
        aid = self.rnd.choice(self.partition)
        country, city, tier = self.place()
        want, terrs = self.one("SELECT oracle.write_outcome(oracle.who(%s, %s), %s, false, %s, %s, %s),"
                               " oracle.rule_territories(%s, %s, %s)",
                               self.who() + (aid, country, city, tier, country, city, tier))
        what = 'UPDATE account %d to %s/%s/%s' % (aid, country, city, tier)
        got, rows = self.attempt('UPDATE crm.accounts SET country = %s, city = %s, tier = %s WHERE id = %s'
                                 ' RETURNING territories, owner_id', (country, city, tier, aid))
        self.count('update')
        if self.outcome(what, want, got) and got == 'done':
            self.same('writes', what + ' territories', terrs, rows[0][0])
            self.pending.append(('update', aid, (country, city, tier)))
            self.own_row(aid, (country, city, tier, rows[0][1]))

    def write_delete(self):
        aid = self.rnd.choice(self.partition)
        want, = self.one('SELECT oracle.write_outcome(oracle.who(%s, %s), %s, true)', self.who() + (aid,))
        got, _ = self.attempt('DELETE FROM crm.accounts WHERE id = %s RETURNING id', (aid,))
        self.count('delete')
        if self.outcome('DELETE account %d' % aid, want, got) and got == 'done':
            self.pending.append(('delete', aid, None))
            left, = self.one('SELECT count(*) FROM crm.accounts WHERE id = %s', (aid,))
            self.check('own', left == 0, lambda: 'account %d it deleted is still visible' % aid)

    def count(self, op):
        with self.shared.lock:
            self.shared.writes[op] += 1


# -------------------------------------------------------------------- the run


def final_state(admin, initial, committed):
    """What the committed writes make of the fixture's records, against what the tables hold."""
    accounts, contacts, deals = (dict(initial[t]) for t in TABLES)
    for op, rid, values in committed:
        if op == 'insert':
            accounts[rid] = values
        elif op == 'update':
            accounts[rid] = values + (accounts[rid][3],)
        elif op == 'delete':
            del accounts[rid]
        else:
            (contacts if op == 'contact' else deals)[rid] = values
    problems = []
    for table, want in zip(TABLES, (accounts, contacts, deals)):
        got = dict(snapshot(admin, table))
        if got != want:
            wrong = sorted(i for i in set(got) | set(want) if got.get(i) != want.get(i))
            problems.append('%s: %d rows differ, first %s'
                            % (table, len(wrong), ['%d: expected %r, got %r' % (i, want.get(i), got.get(i))
                                                   for i in wrong[:5]]))
    return problems


def snapshot(admin, table):
    """The rows of a table, as the superuser: id -> what the clients write of it."""
    if table == 'accounts':
        return [(r[0], r[1:]) for r in admin_rows(admin, 'SELECT id, country, city, tier, owner_id FROM crm.accounts')]
    return admin_rows(admin, 'SELECT id, account_id FROM crm.%s' % table)


def misplaced(rows, fixture_ids):
    """Notes on the rows of oracle.misassigned: kind, id, account_id, got, want."""
    notes = []
    for kind, rid, account, got, want in rows[:5]:
        of = ''
        if kind != 'account':
            of = ' (account %s%s)' % (account, ', inserted by a client after the fixture' if fixture_ids and
                                      account is not None and account not in fixture_ids else '')
        notes.append('%s %d%s: %s, the rules give %s' % (kind, rid, of, got, want))
    if len(rows) > 5:
        notes.append('... %d records in all' % len(rows))
    if fixture_ids:
        later = sum(1 for kind, _, account, _, _ in rows
                    if kind != 'account' and account is not None and account not in fixture_ids)
        if later:
            notes.append('%d of them name an account that did not exist when they were written and that a client '
                         'inserted later' % later)
    return notes


def admin_rows(admin, sql):
    cur = admin.cursor()
    cur.execute(sql)
    return cur.fetchall()


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument('--pooler-port', type=int, required=True, help='pgbouncer on 127.0.0.1')
    ap.add_argument('--db', required=True)
    ap.add_argument('--pool-size', type=int, required=True, help="pgbouncer's default_pool_size")
    ap.add_argument('--clients', type=int, default=28)
    ap.add_argument('--logins', type=int, default=2, help='how many of the clients are Carol, with her login')
    ap.add_argument('--transactions', type=int, default=40, help='per client')
    ap.add_argument('--seed', type=int, default=13)
    ap.add_argument('--deadline', type=float, default=90, help='seconds: no transaction starts after it')
    ap.add_argument('--app-role', default='territory_clients_app')
    ap.add_argument('--login-role', default='territory_clients_carol')
    args = ap.parse_args()

    # the superuser, straight to the server (PGHOST, PGPORT, PGUSER, PGPASSWORD)
    admin = psycopg2.connect(dbname=args.db)
    admin.autocommit = True
    users = dict(admin_rows(admin, 'SELECT key, active FROM territory.sales_users'))
    misassigned = admin_rows(admin, 'SELECT * FROM oracle.misassigned')
    counts = admin_rows(admin, 'SELECT (SELECT count(*) FROM crm.accounts), (SELECT count(*) FROM crm.contacts),'
                               ' (SELECT count(*) FROM crm.deals), (SELECT count(*) FROM territory.territories),'
                               ' (SELECT count(*) FROM crm.probes)')[0]
    initial = {t: snapshot(admin, t) for t in TABLES}
    ids = sorted(i for i, _ in initial['accounts'])

    shared = Shared(args, users)
    clients = []
    for no in range(args.clients):
        login = no < args.logins
        role = args.login_role if login else args.app_role
        password = os.environ['CLIENTS_LOGIN_PASSWORD' if login else 'CLIENTS_APP_PASSWORD']
        clients.append(Client(no, role, password, shared, [i for i in ids if i % args.clients == no]))
    started = time.monotonic()
    for c in clients:
        c.start()
    for c in clients:
        c.join()
    took = time.monotonic() - started

    results = []   # (ok, description, notes)
    results.append((not misassigned,
                    'fixture: %d accounts, %d contacts, %d deals in %d territories, %d sales users, %d probes; '
                    'every record where the rules put it' % (counts[:4] + (len(users), counts[4])),
                    misplaced(misassigned, set())))
    pids = {role: len(p) for role, p in shared.pids.items()}
    results.append((shared.transactions > 0 and all(n <= args.pool_size for n in pids.values())
                    and shared.after_other_client > 0,
                    '%d clients (%d with Carol\'s login) through pgbouncer, transaction pooling, pool size %d: '
                    '%d transactions in %.0f s%s on %s server connections, %d of them on a connection another '
                    'client used last'
                    % (args.clients, args.logins, args.pool_size, shared.transactions, took,
                       ' (stopped at the deadline)' if shared.cut else '',
                       ' + '.join('%d (%s)' % (n, r) for r, n in sorted(pids.items())), shared.after_other_client),
                    []))
    t = shared.tally
    for name, description in CHECKS.items():
        extra = ''
        if name == 'start':
            extra = ', %d after another identity on the same server connection' % shared.after_other_identity
        elif name == 'writes':
            extra = '; %s; outcomes %s' % (', '.join('%d %s' % (n, op) for op, n in shared.writes.items()),
                                           ', '.join('%d %s' % (n, o) for o, n in shared.outcomes.items()))
        results.append((t.failed[name] == 0 and (t.count[name] > 0 or name == 'errors'),
                        '%s (%d comparisons%s%s)' % (description, t.count[name],
                                                     ', %d failed' % t.failed[name] if t.failed[name] else '', extra),
                        t.notes[name]))
    problems = final_state(admin, initial, shared.committed)
    results.append((not problems, 'after the run: accounts, contacts and deals are what the %d committed writes '
                                  'make of the fixture (none lost, none rolled back kept)' % len(shared.committed),
                    problems))
    misassigned = admin_rows(admin, 'SELECT * FROM oracle.misassigned')
    results.append((not misassigned, 'after the run: every account\'s territories are what the rules give, its '
                                     'contacts\' and deals\' follow it',
                    misplaced(misassigned, set(ids))))
    admin.close()

    for n, (ok, description, notes) in enumerate(results, 1):
        print('%s %d - %s' % ('ok' if ok else 'not ok', n, description))
        for note in notes:
            print('#   ' + note)
    print('1..%d' % len(results))
    return 0 if all(ok for ok, _, _ in results) else 1


if __name__ == '__main__':
    sys.exit(main())
