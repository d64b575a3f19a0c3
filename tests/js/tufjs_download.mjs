// tuf-js updates from a published repository and downloads one target: the
// second independent client of the publish tests (python-tuf is the first).
//
//   node tufjs_download.mjs METADATA_DIR METADATA_URL TARGET_BASE_URL TARGET_PATH OUT_FILE
//
// METADATA_DIR must hold the pinned root as root.json. Prints one line and
// exits 0 on success; prints the error and exits 1 otherwise.
import { Updater } from 'tuf-js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const [metadataDir, metadataUrl, targetBaseUrl, targetPath, outFile] = process.argv.slice(2);
if (!outFile) {
  console.error('usage: tufjs_download.mjs METADATA_DIR METADATA_URL TARGET_BASE_URL TARGET_PATH OUT_FILE');
  process.exit(2);
}

try {
  const updater = new Updater({ metadataDir, metadataBaseUrl: metadataUrl, targetBaseUrl, targetDir: metadataDir });
  await updater.refresh();
  const info = await updater.getTargetInfo(targetPath);
  if (!info) {
    throw new Error(`target ${targetPath} not found`);
  }
  await updater.downloadTarget(info, outFile);
  const root = JSON.parse(readFileSync(join(metadataDir, 'root.json'), 'utf8'));
  console.log(`tuf-js: ${targetPath}: ${info.length} bytes, root v${root.signed.version}`);
} catch (err) {
  console.log(`tuf-js refused: ${err.name}: ${err.message}`);
  process.exit(1);
}
