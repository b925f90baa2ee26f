export { startServiceCluster, type ServiceCluster, type ClusterService, type ClusterOptions, type ServiceStop } from './service-cluster.ts';
export { startLocalCluster, createCoupons, serviceWarnings, type LocalCluster, type LocalClusterOptions, type CouponSpec } from './local-cluster.ts';
export { startTcpBalancer, type TcpBalancer, type Backend } from './tcp-balancer.ts';
