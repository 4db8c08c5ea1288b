import { Type } from '@sinclair/typebox'

/**
 * The identifiers the hub hands to an edge, as patterns both sides check: the
 * hub's routes validate with these schemas and the edge's answer check
 * (edge/hub-link/answer-check.ts) refuses any answer that breaks them, before
 * a field is used. The edge checks again where it uses an identifier
 * (`isHubIdentifier`, and shared/fs/contained-path.ts where one meets the file
 * system): defence in depth, a hostile hub is the threat model (issue 13).
 *
 * One rule for every id: 1-64 characters of A-Z a-z 0-9 . _ -, starting with a
 * letter or digit. That excludes `/`, `\`, NUL, `..` as a whole name and a
 * leading `.` or `-` (hidden files, command-line flags), and keeps ids short
 * enough for any file system (NAME_MAX 255) and log line.
 */
export const HUB_IDENTIFIER_SOURCE = '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'
export const HUB_IDENTIFIER_PATTERN = new RegExp(HUB_IDENTIFIER_SOURCE)

/** True when `value` is a string matching HUB_IDENTIFIER_PATTERN. */
export const isHubIdentifier = (value: unknown): value is string => typeof value === 'string' && HUB_IDENTIFIER_PATTERN.test(value)

const identifier = (description: string) => Type.String({ pattern: HUB_IDENTIFIER_SOURCE, minLength: 1, maxLength: 64, description: `${description}: 1-64 characters of A-Z a-z 0-9 . _ -, starting with a letter or digit` })

/** Ids the hub makes (`dev-<uuid>`, `rel-<uuid>`, `ro-<uuid>`, `hub-<uuid>`). */
export const DeviceIdSchema = identifier('Device id')
export const HubIdSchema = identifier('Hub id')
export const ReleaseIdSchema = identifier('Release id')
export const RolloutIdSchema = identifier('Rollout id')
/** Fleet group name (cloud/http/schemas.ts GroupName is this schema). */
export const GroupNameSchema = identifier('Fleet group')
/** An OTA bundle's name (the signed manifest's `name`, shared/ota/manifest.ts). */
export const BundleNameSchema = identifier('Bundle name')

/**
 * A semver version as the hub passes it on (full semver is checked where it
 * is compared: shared/ota/manifest.ts). The character set alone keeps it safe
 * in a log line or a file name.
 */
export const VERSION_SOURCE = '^[0-9]+\\.[0-9]+\\.[0-9]+(?:[-+][0-9A-Za-z.+-]{1,54})?$'
export const VersionSchema = Type.String({ pattern: VERSION_SOURCE, maxLength: 64, description: 'Semver, e.g. 1.4.2' })

/**
 * The path of a hub resource the edge fetches (an OTA bundle): absolute on the
 * hub, plain segments only. No scheme or host (`//evil/x`, `http://...`), no
 * `.` or `..` segment, no query, no percent-escapes: the URL it makes cannot
 * leave the hub the edge is enrolled with (edge/ota/bundle-download.ts checks
 * the origin again).
 */
export const HUB_PATH_SOURCE = '^(?:/(?!\\.{1,2}(?:/|$))[A-Za-z0-9._-]{1,128}){1,16}$'
export const HubPathSchema = Type.String({ pattern: HUB_PATH_SOURCE, maxLength: 1024, description: 'Path on the hub to GET, signed, with Range: /-separated segments of A-Z a-z 0-9 . _ -, no . or .. segment' })
