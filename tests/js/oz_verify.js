// Verify Provenance Ledger anchored-record proofs with OpenZeppelin's JavaScript merkle-tree library.
// stdin: JSON list of {root, recordId, proof}; stdout: JSON list of booleans.
'use strict';
const path = require('path');
const { StandardMerkleTree } = require(path.join(__dirname, '..', '..', 'node_modules', '@openzeppelin', 'merkle-tree'));
const cases = JSON.parse(require('fs').readFileSync(0, 'utf8'));
process.stdout.write(JSON.stringify(cases.map((c) => StandardMerkleTree.verify(c.root, ['bytes32'], [c.recordId], c.proof))));
