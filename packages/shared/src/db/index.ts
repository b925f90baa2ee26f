export type { Database, CouponRow, NewCoupon, CouponTable, CouponWalletTable } from './database.ts';
export { createDb, type CreateDbOptions } from './create-db.ts';
export { isPostgresUnavailable } from './postgres-unavailable.ts';
export { ensureDatabase, dropDatabase } from './ensure-database.ts';
export { migrateToLatest, prepareDatabase } from './migrate.ts';
export { seedCoupons, SEED_COUPONS } from './seed-coupons.ts';
export { listCoupons, findCouponByCode } from './repositories/coupons.ts';
export { walletOfUser, findWalletById, findWalletOfUser, type WalletEntry, type IssuedWallet } from './repositories/wallets.ts';
