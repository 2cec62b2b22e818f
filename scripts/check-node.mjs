#!/usr/bin/env node
// Fails fast when a script runs outside the Node 24 that the project pins in node_modules/.bin.
const major = Number(process.versions.node.split(".")[0]);
if (major !== 24) {
  console.error(
    `This project runs on Node 24 LTS (pinned by the "node" devDependency); this is Node ${process.versions.node}.\n` +
      "Run it through npm (npm start, npm test, npm run ...), which puts node_modules/.bin/node first on PATH.",
  );
  process.exit(1);
}
