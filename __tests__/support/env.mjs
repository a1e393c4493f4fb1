// The client reads MONOCLOUD_BACKEND_* at construction; a test that configures it through the
// environment must neither see the variables of the shell running the suite nor leave its own
// behind for the tests after it.

/** Runs `fn` with exactly these MONOCLOUD_BACKEND_* variables set, restoring the environment after. */
export async function withEnv(vars, fn) {
  const saved = { ...process.env };
  for (const name of Object.keys(process.env)) if (name.startsWith('MONOCLOUD_BACKEND_')) delete process.env[name];
  Object.assign(process.env, vars);
  try {
    return await fn();
  } finally {
    for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name];
    Object.assign(process.env, saved);
  }
}
