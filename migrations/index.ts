import { InitialSchema1764230400000 } from './1764230400000-InitialSchema';

/** Every migration, in order. Listed explicitly so the bundle and the CLI agree. */
export const MIGRATIONS = [InitialSchema1764230400000];
