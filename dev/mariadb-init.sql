-- The integration tests' user (scripts/services' default
-- ACCESS_TEST_MYSQL_URL): it creates and drops a database per test.
CREATE USER IF NOT EXISTS 'access_test'@'%' IDENTIFIED BY 'access_test';
GRANT ALL ON `access\_test\_%`.* TO 'access_test'@'%';
