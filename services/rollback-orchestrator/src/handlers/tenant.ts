export { actingPartner, assertVisible, isAdmin, listScope as readScope } from '@pep/service';
