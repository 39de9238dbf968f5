export { actingPartner, assertVisible, isAdmin, listScope } from '@pep/service';
