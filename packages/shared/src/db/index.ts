export type { Database, CouponRow, NewCoupon, CouponTable, CouponWalletTable, AdminAuditRow, AdminAuditTable } from './database.ts';
export { createDb, type CreateDbOptions } from './create-db.ts';
export { isPostgresUnavailable } from './postgres-unavailable.ts';
export { ensureDatabase, dropDatabase } from './ensure-database.ts';
export { migrateToLatest, prepareDatabase } from './migrate.ts';
export { seedCoupons, SEED_COUPONS } from './seed-coupons.ts';
export {
  listCoupons,
  findCouponByCode,
  insertCoupon,
  lockCouponByCode,
  updateCoupon,
  setCouponRunState,
  type CouponChanges,
  type RunStateChange,
} from './repositories/coupons.ts';
export { insertAudit, listAudit, type AuditEntry, type AuditQuery } from './repositories/admin-audit.ts';
export { walletOfUser, findWalletById, findWalletOfUser, type WalletEntry, type IssuedWallet } from './repositories/wallets.ts';
