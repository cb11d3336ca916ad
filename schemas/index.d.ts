import type { Options } from '..'
import type { TadAppStore } from './tad-app'

export type { TadAppStore, Workspace, RecentItem, Panel } from './tad-app'

/** The TAD app's JSON Schema (draft 2020-12), as in `tad-app.schema.json`. */
export declare const schema: Record<string, unknown> & { 'x-version': string }
/** The schema's version: the `projectVersion` its migrations lead to. */
export declare const version: string
/** Migrations from older versions of the TAD store to `version`. */
export declare const migrations: Options<TadAppStore>['migrations']
/** Store options for the TAD app store: schema, rootSchema, projectVersion, migrations. */
export declare function storeOptions(extra?: Partial<Options<TadAppStore>>): Options<TadAppStore>
