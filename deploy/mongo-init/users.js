// Store users for docker-compose (mongo:7 runs this once, on an empty data volume, as the
// root user MONGO_INITDB_ROOT_USERNAME): one user per service, readWrite on its own
// database only. Passwords come from the container's environment (compose.env).
const prefix = process.env.MONGO_DB_PREFIX || "crm_";
const admin = db.getSiblingDB("admin");
for (const service of ["customer", "invoice", "approval", "search", "gateway"]) {
  const password = process.env[`CRM_${service.toUpperCase()}_MONGO_PASSWORD`];
  if (!password) throw new Error(`CRM_${service.toUpperCase()}_MONGO_PASSWORD is not set`);
  admin.createUser({user: `crm-${service}`, pwd: password,
                    roles: [{role: "readWrite", db: `${prefix}${service}`}]});
}
