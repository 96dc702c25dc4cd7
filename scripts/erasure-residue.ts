import { measureResidue } from '../tooling/erasure/residue.js';

// `npm run erasure:residue`: after an erasure, how many copies of the lead's email and name are
// left in the dev server's SQLite file and WAL, with the stack's pragmas and with secure_delete.

const runs: Array<Record<string, string>> = process.env.RESIDUE_ONLY_DEFAULT ? [{}] : [{}, { secure_delete: 'on' }];
console.log('erasure residue: a lead is created, changed 3 times, synced, erased; its email and name are then searched in the SQLite files');
for (const [i, pragmas] of runs.entries()) {
  console.log(`run ${i + 1}/${runs.length} …`);
  const r = await measureResidue(pragmas, (line) => console.log(line));
  console.log(
    `  ${r.pragmas}: before db=${r.before.db} wal=${r.before.wal} | erased in ${(r.erasureMs / 1000).toFixed(1)} s, server running: db=${r.afterErasure.db} wal=${r.afterErasure.wal} | server stopped: db=${r.afterStop.db} wal=${r.afterStop.wal} | table rows holding them: ${r.rows} | after VACUUM: db=${r.afterVacuum.db} wal=${r.afterVacuum.wal}`,
  );
}
