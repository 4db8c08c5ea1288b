export type UserId = string & { readonly __userId: true }
export type Role = 'admin' | 'viewer'

export interface UserRecord {
  id: UserId
  username: string
  role: Role
  /** `scrypt$N$r$p$salt$hash` (see cloud/accounts/password.ts). */
  passwordHash: string
  /** Base32 TOTP secret. */
  totpSecret: string
  /** Last TOTP time step accepted for this account (replay guard), null before the first login. */
  totpLastStep: number | null
  createdAt: number
  /** When an admin disabled the account (it cannot log in, its tokens stop working), null while enabled. */
  disabledAt: number | null
}

export type NewUser = Omit<UserRecord, 'totpLastStep' | 'disabledAt'>

export interface UserRepository {
  /** Adds an account; rejects with HUB_ERR_CONFLICT when the username is taken. */
  create(user: NewUser): Promise<UserRecord>
  findByUsername(username: string): Promise<UserRecord | undefined>
  findById(id: UserId): Promise<UserRecord | undefined>
  list(): Promise<UserRecord[]>
  count(): Promise<number>
  /**
   * Marks TOTP time step `step` as used, only if it is later than the last one
   * used (atomically): false means the code was replayed.
   */
  claimTotpStep(id: UserId, step: number): Promise<boolean>
  /** Disables (`at`) or enables again (null); false when no such user. */
  setDisabled(id: UserId, at: number | null): Promise<boolean>
  /** Deletes the account and all its sessions in one transaction; false when no such user. */
  delete(id: UserId): Promise<boolean>
}
